//! The HTML every page shares: escaping of untrusted text, the page shell with its
//! Content-Security-Policy, and the style sheet.

use base64::Engine;
use sha2::{Digest as _, Sha256};

/// `text` escaped for HTML text and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The policy of every page: nothing from the network, no plugins, no forms; images from the
/// site's own files or data: URLs; the site's own style element; only the script whose hash
/// is given (none when `script` is None), so a script the sanitiser missed would not run.
fn policy(script: Option<&str>) -> String {
    let script_src = match script {
        Some(script) => {
            let hash = Sha256::digest(script.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(hash)
            )
        }
        None => "'none'".into(),
    };
    format!(
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; script-src {script_src}; base-uri 'none'; form-action 'none'"
    )
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2330;color:#fff;padding:12px 24px}
header a{color:#fff}
main{padding:16px 24px;max-width:1200px}
#filter{font-size:1rem;padding:6px 10px;width:320px;margin-bottom:16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:16px}
.card{background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:14px;display:flex;gap:12px;text-decoration:none;color:inherit}
.head{max-width:640px;margin-bottom:16px}
.head h1{font-size:1.6rem;margin:0 0 6px}
.digest{word-break:break-all;display:inline-block;max-width:24ch}
.card:hover{border-color:#4a6cf7}
.logo{width:48px;height:48px;object-fit:contain;flex:none}
.nologo{width:48px;height:48px;flex:none;border-radius:6px;background:#d9dde5;display:flex;align-items:center;justify-content:center;font-weight:bold;font-size:1.4rem;color:#555}
.card h2{font-size:1rem;margin:0 0 4px}
.meta{font-size:.8rem;color:#5a6275}
.label{display:inline-block;background:#e7ebff;color:#2a3fa8;border-radius:4px;padding:0 5px;margin:2px 2px 0 0;font-size:.75rem}
table{border-collapse:collapse;background:#fff;margin-bottom:16px}
th,td{border:1px solid #d9dde5;padding:4px 8px;text-align:left;font-size:.85rem;vertical-align:top}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#fff;border:1px solid #d9dde5;padding:10px;overflow:auto;max-height:480px}
.readme{background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:8px 20px;margin-bottom:16px}
.readme img{max-width:100%}
.note{color:#8a5a00}
";

/// A whole page: `title` (escaped here), `body` (HTML already safe) and an optional inline
/// `script` (trusted, packreg's own), allowed by its hash.
pub fn page(title: &str, body: &str, script: Option<&str>) -> String {
    let script_element = script
        .map(|s| format!("<script>{s}</script>\n"))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n{script_element}</body>\n</html>\n",
        policy = escape(&policy(script)),
        title = escape(title),
    )
}

/// `items` as label chips.
pub fn labels(items: &[String]) -> String {
    items
        .iter()
        .map(|l| format!("<span class=\"label\">{}</span>", escape(l)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape("<img src=x onerror=\"a('b')\">&"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn the_policy_allows_the_page_script_by_its_hash_only() {
        let html = page("t", "", Some("let a = 1;"));
        assert!(html.contains("script-src &#39;sha256-"), "{html}");
        assert!(!html.contains("unsafe-inline&#39;; base"), "{html}");
        assert!(page("t", "", None).contains("script-src &#39;none&#39;"));
        assert!(html.contains("default-src &#39;none&#39;"));
    }
}
