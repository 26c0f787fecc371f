//! The job APIs the machine speaks. Each dialect is data plus pure functions behind one enum,
//! so [`JobPoller`](crate::JobPoller) has no type parameter, and each sits behind its own cargo
//! feature so firmware pays flash only for the API it uses.

#[cfg(feature = "ontap")]
pub mod ontap;

#[cfg(not(any(feature = "ontap")))]
compile_error!("enable at least one dialect feature (`ontap`)");

/// The job API of the server, with its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Dialect {
    /// ONTAP REST (`/api/cluster/jobs/{uuid}`).
    #[cfg(feature = "ontap")]
    Ontap(ontap::OntapOptions),
}

impl Dialect {
    /// A stable one-byte tag, used in resume tokens.
    pub(crate) const fn tag(&self) -> u8 {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => 1,
        }
    }
}

impl Default for Dialect {
    fn default() -> Self {
        #[cfg(feature = "ontap")]
        {
            Dialect::Ontap(ontap::OntapOptions::DEFAULT)
        }
    }
}
