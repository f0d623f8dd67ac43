//! The one parser of OAuth redirects, for deep links (`tributary://<host>/<provider>/callback`)
//! and loopback callbacks (`http://<host>:<port>/callback`). The hosts it accepts come from the
//! providers' capabilities ([`RedirectHosts::from_registry`]), never from literals here; the
//! desktop shell classifies the links the OS hands it with [`classify`], and the connect flow
//! parses them strictly with [`parse`].

use crate::domain::ProviderKind;
use crate::providers::Registry;
use crate::{Error, Result};
use std::collections::HashMap;
use url::Url;

/// The deep-link scheme the desktop app registers.
pub const DEEP_LINK_SCHEME: &str = "tributary";

/// The hosts a redirect may name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectHosts {
    /// Hosts of `tributary://<host>/<provider>/callback`.
    pub deep_link: Vec<&'static str>,
    /// Hosts of `http://<host>:<port>/callback`.
    pub loopback: Vec<&'static str>,
}

impl RedirectHosts {
    /// The union of what the registered providers use.
    pub fn from_registry(registry: &Registry) -> Self {
        let mut hosts = Self::default();
        for (_, capabilities) in registry.described() {
            hosts.deep_link.push(capabilities.deep_link_host);
            hosts.loopback.push(capabilities.loopback_host);
        }
        for list in [&mut hosts.deep_link, &mut hosts.loopback] {
            list.sort_unstable();
            list.dedup();
        }
        hosts
    }
}

/// The parts of a redirect the flow acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The URL without its query and fragment (compared with the flow's redirect URI).
    pub base: Url,
    /// The provider named in a deep link's path (as written; the flow checks it).
    pub deep_link_provider: Option<String>,
    /// The `state`.
    pub state: String,
    /// The authorization code, if the provider sent one.
    pub code: Option<String>,
    /// The provider's `error`, if it sent one (e.g. `access_denied`).
    pub error: Option<String>,
    /// The granted scopes, where the provider reports them in the redirect (Strava).
    pub scope: Option<String>,
}

/// What a link the OS handed the app is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// A sign-in redirect, for the provider named in its path when that is one we know.
    OAuthCallback {
        /// The provider, if the path names a known one.
        provider: Option<ProviderKind>,
    },
    /// Not one of ours.
    Unknown,
}

/// Classify a link without judging its query (the flow does that): a `tributary://` URL on one
/// of the providers' deep-link hosts is a sign-in link.
pub fn classify(text: &str, hosts: &RedirectHosts) -> LinkKind {
    let Ok(url) = Url::parse(text.trim()) else {
        return LinkKind::Unknown;
    };
    let on_our_host = url.host_str().is_some_and(|h| hosts.deep_link.contains(&h));
    if url.scheme() != DEEP_LINK_SCHEME || !on_our_host {
        return LinkKind::Unknown;
    }
    let provider = url
        .path_segments()
        .and_then(|mut s| s.next())
        .and_then(|p| p.parse().ok());
    LinkKind::OAuthCallback { provider }
}

/// Parse a redirect strictly: our scheme and hosts, the callback path, no duplicated parameter,
/// a non-empty `state`.
pub fn parse(text: &str, hosts: &RedirectHosts) -> Result<Redirect> {
    let bad = |why: &str| Error::InvalidRedirect(format!("not a Tributary sign-in link: {why}"));
    let url = Url::parse(text.trim()).map_err(|_| bad("it is not a URL"))?;
    let deep_link_provider = match url.scheme() {
        DEEP_LINK_SCHEME => {
            let segments: Vec<&str> = url
                .path_segments()
                .map(Iterator::collect)
                .unwrap_or_default();
            let on_our_host = url.host_str().is_some_and(|h| hosts.deep_link.contains(&h));
            match segments.as_slice() {
                [provider, "callback"] if on_our_host => Some((*provider).to_owned()),
                _ => return Err(bad("expected tributary://oauth/<provider>/callback")),
            }
        }
        "http" => {
            let loopback = url.host_str().is_some_and(|h| hosts.loopback.contains(&h));
            if !loopback || url.path() != "/callback" {
                return Err(bad("expected http://127.0.0.1:<port>/callback"));
            }
            None
        }
        _ => return Err(bad("unknown scheme")),
    };
    let mut query: HashMap<String, String> = HashMap::new();
    for (key, value) in url.query_pairs() {
        // A parameter given twice is an attempt to confuse the parser: refuse it.
        if query
            .insert(key.clone().into_owned(), value.into_owned())
            .is_some()
        {
            return Err(bad(&format!("parameter '{key}' appears twice")));
        }
    }
    let state = query
        .remove("state")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("it has no state"))?;
    let mut base = url;
    base.set_query(None);
    base.set_fragment(None);
    Ok(Redirect {
        base,
        deep_link_provider,
        state,
        code: query.remove("code").filter(|c| !c.is_empty()),
        error: query.remove("error"),
        scope: query.remove("scope"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> RedirectHosts {
        RedirectHosts {
            deep_link: vec!["localhost", "oauth"],
            loopback: vec!["127.0.0.1", "localhost"],
        }
    }

    #[test]
    fn parses_deep_links_and_loopback_redirects() {
        let deep = parse(
            "tributary://oauth/strava/callback?state=s1&code=c1&scope=read",
            &hosts(),
        )
        .unwrap();
        assert_eq!(deep.deep_link_provider.as_deref(), Some("strava"));
        assert_eq!(
            (deep.state.as_str(), deep.code.as_deref()),
            ("s1", Some("c1"))
        );
        let lo = parse(
            "http://127.0.0.1:4567/callback?state=s2&error=access_denied",
            &hosts(),
        )
        .unwrap();
        assert_eq!(lo.base.as_str(), "http://127.0.0.1:4567/callback");
        assert_eq!(lo.error.as_deref(), Some("access_denied"));
    }

    #[test]
    fn rejects_malformed_links() {
        for bad in [
            "",
            "not a url",
            "https://evil.example/callback?state=s&code=c",
            "http://192.168.1.5:80/callback?state=s&code=c",
            "http://127.0.0.1:80/other?state=s&code=c",
            "tributary://oauth/strava?state=s&code=c",
            "tributary://activity/strava/callback?state=s&code=c",
            "tributary://oauth/strava/callback?code=c",
            "tributary://oauth/strava/callback?state=&code=c",
            "tributary://oauth/strava/callback?state=a&state=b&code=c",
        ] {
            let err = parse(bad, &hosts())
                .err()
                .unwrap_or_else(|| panic!("accepted {bad:?}"));
            assert_eq!(
                err.code(),
                crate::ErrorCode::InvalidRedirect,
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn hosts_come_from_the_caller_not_from_literals() {
        let only_oauth = RedirectHosts {
            deep_link: vec!["oauth"],
            loopback: vec!["127.0.0.1"],
        };
        assert!(parse("tributary://localhost/strava/callback?state=s", &only_oauth).is_err());
        assert!(parse("http://localhost:9/callback?state=s", &only_oauth).is_err());
        assert!(parse("tributary://oauth/strava/callback?state=s", &only_oauth).is_ok());
    }

    #[test]
    fn classifies_links() {
        assert_eq!(
            classify("tributary://oauth/strava/callback?state=s&code=c", &hosts()),
            LinkKind::OAuthCallback {
                provider: Some(ProviderKind::Strava)
            }
        );
        assert_eq!(
            classify("tributary://localhost/myspace/callback", &hosts()),
            LinkKind::OAuthCallback { provider: None }
        );
        assert_eq!(
            classify("tributary://activity/42", &hosts()),
            LinkKind::Unknown
        );
        assert_eq!(classify("%%%", &hosts()), LinkKind::Unknown);
        assert_eq!(
            classify("https://oauth/strava/callback", &hosts()),
            LinkKind::Unknown
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_parsed_or_refused_never_panics(text in ".{0,120}") {
            let _ = parse(&text, &hosts());
            let _ = classify(&text, &hosts());
        }

        #[test]
        fn link_shaped_text_is_parsed_or_refused_never_panics(
            scheme in proptest::sample::select(vec!["tributary", "http", "https", "TRIBUTARY", ""]),
            host in proptest::sample::select(vec!["oauth", "localhost", "127.0.0.1", "[::1]", "evil", ""]),
            port in proptest::option::of(proptest::prelude::any::<u16>()),
            path in "(/[a-z_%]{0,12}){0,4}",
            query in "([a-z_]{0,8}(=[^&#]{0,16})?&?){0,6}",
        ) {
            let port = port.map_or_else(String::new, |p| format!(":{p}"));
            let url = format!("{scheme}://{host}{port}{path}?{query}");
            if let Ok(redirect) = parse(&url, &hosts()) {
                proptest::prop_assert!(!redirect.state.is_empty(), "a parsed redirect has a state");
            }
            let _ = classify(&url, &hosts());
        }
    }
}
