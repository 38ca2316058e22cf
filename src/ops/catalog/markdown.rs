//! A pack's README: Markdown rendered by pulldown-cmark, then sanitised by ammonia's allow
//! list. What survives has no script, event handler, `javascript:` URL, style, form or frame,
//! and no image from anywhere but the site itself (a remote image would be a network request
//! and a tracking beacon).

use pulldown_cmark::{html, Options, Parser};

/// The README's bytes as safe HTML.
pub fn render_readme(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut unsafe_html = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    sanitise(&unsafe_html)
}

/// `html` through ammonia: its default allow list (no script, style, event handlers or
/// dangerous URL schemes; `srcset` is not on it), and image sources only when they stay on
/// the site.
fn sanitise(html: &str) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" && !is_site_path(value) {
                return None;
            }
            Some(value.into())
        });
    builder.clean(html).to_string()
}

/// Whether an image source is a path within the site: relative, no scheme, no host, not
/// climbing out with `..`.
fn is_site_path(src: &str) -> bool {
    let src = src.trim();
    !src.is_empty()
        && !src.contains(':')
        && !src.starts_with('/')
        && !src.starts_with('\\')
        && !src.split(['/', '\\']).any(|part| part == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html() {
        let html = render_readme("# Title\n\nSome *text* and a [link](https://example.com).");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>text</em>"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
    }

    #[test]
    fn hostile_markup_does_not_survive() {
        let html = render_readme(
            "# Hi\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n\
[click](javascript:alert(3))\n\n<a href=\"javascript:alert(4)\">x</a>\n\n\
![remote](http://example.com/beacon.png)\n\n<img src=\"https://example.com/b.png\">\n\n\
<img src=\"//example.com/c.png\">\n\n<p style=\"background:url(http://e.com/x)\">s</p>\n\n\
<style>body{background:url(http://e.com/y)}</style>\n\n<iframe src=\"http://e.com\"></iframe>\n\n\
<img srcset=\"http://e.com/d.png 2x\" src=\"local.png\">",
        );
        let lower = html.to_lowercase();
        for bad in [
            "<script",
            "onerror",
            "javascript:",
            "http://example.com",
            "https://example.com",
            "//example.com",
            "style",
            "iframe",
            "srcset",
            "e.com",
        ] {
            assert!(!lower.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
        assert!(html.contains("src=\"local.png\""), "{html}");
    }
}
