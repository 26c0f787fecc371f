//! Where jobctl talks to and in which API: the `--url` and `--dialect` arguments.

use jobpoll::Dialect;

/// A parsed `--url`: scheme, host and port (no path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `https`?
    pub tls: bool,
    /// Host name or IP literal, without IPv6 brackets.
    pub host: String,
    /// Port (the scheme's default when the URL has none).
    pub port: u16,
}

impl Target {
    /// Whether the host is a loopback address (or `localhost`): a plain `http://` connection
    /// to it does not cross a network.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// Parses `http[s]://host[:port][/]`. A path, query or user info is refused: the API paths are
/// given by the subcommands, and credentials come from the environment. An IPv6 literal must be
/// in brackets (`https://[fd00::5]:8443`): without them its last group would read as a port.
///
/// The messages never repeat a URL that holds an `@`: it may carry a password.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let shown = if url.contains('@') {
        "--url (not repeated here: it holds an '@')".to_string()
    } else {
        format!("{url:?}")
    };
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!(
            "{shown}: the URL must start with https:// or http://"
        ));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let before_path = authority.split(['/', '?', '#']).next().unwrap_or_default();
    if before_path.contains('@') {
        return Err(format!(
            "{shown}: no credentials in the URL; use --user with --password-env, or --token-env"
        ));
    }
    if authority.contains(['/', '?', '#']) {
        return Err(format!(
            "{shown}: give only scheme, host and port (the path comes from the subcommand)"
        ));
    }
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{shown}: unclosed '[' in the host"))?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!(
                "{shown}: {host:?} in brackets is not an IPv6 address"
            ));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("{shown}: expected ':' after ']'"))?,
            ),
        };
        (host, port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if port.is_some_and(|p| p.contains(':')) {
            return Err(format!(
                "{shown}: an IPv6 address goes in brackets, e.g. https://[fd00::5]:8443"
            ));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(format!("{shown}: no host"));
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{shown}: {p:?} is not a port"))?,
    };
    Ok(Target {
        tls,
        host: host.to_string(),
        port,
    })
}

/// The dialect names `--dialect` accepts.
pub const DIALECT_NAMES: &[&str] = &["ontap", "deploy", "aiqum", "nse"];

/// The one place that maps a `--dialect` name to the library's dialect. Names of APIs this
/// build of jobpoll does not speak yet are a usage error that says so.
pub fn dialect(name: &str) -> Result<Dialect, String> {
    match name {
        "ontap" => Ok(Dialect::Ontap(
            jobpoll::dialect::ontap::OntapOptions::DEFAULT,
        )),
        "deploy" => Ok(Dialect::Deploy(
            jobpoll::dialect::deploy::DeployOptions::DEFAULT,
        )),
        "aiqum" => Ok(Dialect::Aiqum(
            jobpoll::dialect::aiqum::AiqumOptions::DEFAULT,
        )),
        "nse" => Ok(Dialect::Nse(jobpoll::dialect::nse::NseOptions::DEFAULT)),
        other => Err(format!(
            "--dialect {other:?}: expected one of {}",
            DIALECT_NAMES.join(", ")
        )),
    }
}

/// Splits `PATH[?k=v&k2=v2]` into the path and its query pairs (taken as written; the request
/// writer percent-encodes them).
pub fn split_path(path: &str) -> Result<(String, Vec<(String, String)>), String> {
    if !path.starts_with('/') {
        return Err(format!("{path:?}: the API path must start with '/'"));
    }
    let Some((path, query)) = path.split_once('?') else {
        return Ok((path.to_string(), Vec::new()));
    };
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect();
    Ok((path.to_string(), pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(tls: bool, host: &str, port: u16) -> Result<Target, ()> {
        Ok(Target {
            tls,
            host: host.into(),
            port,
        })
    }

    #[test]
    fn url_table() {
        let table = [
            (
                "https://cluster1.example.com",
                t(true, "cluster1.example.com", 443),
            ),
            ("https://cluster1:8443/", t(true, "cluster1", 8443)),
            ("http://127.0.0.1:8080", t(false, "127.0.0.1", 8080)),
            ("http://10.0.0.1", t(false, "10.0.0.1", 80)),
            ("https://[::1]:8443", t(true, "::1", 8443)),
            ("https://[fe80::1]", t(true, "fe80::1", 443)),
            ("ftp://x", Err(())),
            ("cluster1", Err(())),
            ("https://", Err(())),
            ("https://h:0", Err(())),
            ("https://h:99999", Err(())),
            ("https://h:x", Err(())),
            ("https://h/api", Err(())),
            ("https://admin:pw@h", Err(())),
            ("https://fe80::1", Err(())),
            ("http://::1:8080", Err(())),
            ("https://[not-v6]", Err(())),
            ("https://[::1", Err(())),
            ("https://[::1]x", Err(())),
        ];
        for (url, want) in table {
            assert_eq!(parse_url(url).map_err(|_| ()), want, "{url}");
        }
    }

    #[test]
    fn a_password_in_the_url_is_never_repeated() {
        for url in [
            "https://admin:s3cret@h",
            "htps://admin:s3cret@h",
            "https://admin:s3cret@h/api",
            "https://admin:s3cret@h:x",
        ] {
            let message = parse_url(url).expect_err(url);
            assert!(!message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn loopback_table() {
        for (url, loopback) in [
            ("http://localhost:8080", true),
            ("http://127.0.0.1", true),
            ("http://127.1.2.3", true),
            ("http://[::1]:80", true),
            ("http://10.0.0.1", false),
            ("http://cluster1.example.com", false),
            ("http://localhost.example.com", false),
        ] {
            let target = parse_url(url).expect(url);
            assert_eq!(target.is_loopback(), loopback, "{url}");
        }
    }

    #[test]
    fn dialect_table() {
        assert!(matches!(dialect("ontap"), Ok(Dialect::Ontap(_))));
        assert!(matches!(dialect("deploy"), Ok(Dialect::Deploy(_))));
        assert!(matches!(dialect("aiqum"), Ok(Dialect::Aiqum(_))));
        assert!(matches!(dialect("nse"), Ok(Dialect::Nse(_))));
        assert!(dialect("ONTAP").is_err());
        assert!(
            dialect("generic").is_err(),
            "a generic dialect needs a description, not a name"
        );
    }

    #[test]
    fn path_table() {
        type Split<'a> = Result<(&'a str, Vec<(&'a str, &'a str)>), ()>;
        let table: [(&str, Split<'_>); 5] = [
            ("/api/storage/volumes", Ok(("/api/storage/volumes", vec![]))),
            (
                "/api/storage/volumes?name=vol*&svm.name=vs1",
                Ok((
                    "/api/storage/volumes",
                    vec![("name", "vol*"), ("svm.name", "vs1")],
                )),
            ),
            ("/x?flag&", Ok(("/x", vec![("flag", "")]))),
            ("api/x", Err(())),
            ("", Err(())),
        ];
        for (given, want) in table {
            let got = split_path(given).map_err(|_| ());
            let want = want.map(|(p, q)| {
                (
                    p.to_string(),
                    q.into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<Vec<_>>(),
                )
            });
            assert_eq!(got, want, "{given}");
        }
    }
}
