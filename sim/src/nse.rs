//! The nse dialect.

use crate::http::Request;
use crate::server::{Ctx, Handled, Route, Shared, not_found};
use std::sync::Arc;

pub(crate) async fn handle(sh: &Arc<Shared>, _req: &Request, route: Route, ctx: Ctx) -> Handled {
    Handled {
        response: not_found(sh, route.dialect()),
        fault: ctx.fault,
    }
}
