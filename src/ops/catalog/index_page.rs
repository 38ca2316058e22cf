//! `index.html`: a card per pack, and a filter box whose few lines of script hide the cards
//! that do not match; without the script every card shows.

use super::html::{escape, labels, page};
use super::model::Card;
use super::page::{logo_element, page_file};

/// The filter: the only script of the site, allowed by its hash in the page's policy.
const FILTER_SCRIPT: &str = "document.getElementById('filter').hidden=false;\
document.getElementById('filter').addEventListener('input',function(e){\
var q=e.target.value.toLowerCase();\
document.querySelectorAll('.card').forEach(function(c){\
c.hidden=q!==''&&c.getAttribute('data-search').indexOf(q)<0;});});";

/// The HTML of the index of `cards` (sorted by name) of the store `store`.
pub fn render_index(cards: &[Card], store: &str) -> String {
    let versions: usize = cards.iter().map(|c| c.versions).sum();
    let mut body = format!(
        "<header><strong>Packs</strong> in {} &middot; {} packs, {} versions</header>\n<main>\n\
<input id=\"filter\" type=\"search\" placeholder=\"Filter by name, layer, label\" aria-label=\"Filter\" hidden>\n\
<div class=\"cards\">\n",
        escape(store),
        cards.len(),
        versions
    );
    for card in cards {
        let display = card.display_name.as_deref().unwrap_or(&card.name);
        let search = [
            Some(card.name.as_str()),
            card.display_name.as_deref(),
            card.layer.as_deref(),
            card.addon_type.as_deref(),
        ]
        .into_iter()
        .flatten()
        .chain(card.labels.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
        let kind = [card.layer.as_deref(), card.addon_type.as_deref()]
            .into_iter()
            .flatten()
            .map(escape)
            .collect::<Vec<_>>()
            .join(" &middot; ");
        body.push_str(&format!(
            "<a class=\"card\" id=\"pack-{name}\" href=\"packs/{file}\" data-search=\"{search}\">{logo}<div>\
<h2>{display}</h2><div class=\"meta\"><code>{name}</code></div><div class=\"meta\">{kind}</div>\
<div class=\"meta\">latest {latest} &middot; {count} version{plural}</div><div>{labels}</div></div></a>\n",
            name = escape(&card.name),
            file = escape(&page_file(&card.name)),
            search = escape(&search),
            logo = logo_element(card, "packs/"),
            display = escape(display),
            kind = kind,
            latest = card.latest.as_deref().map_or_else(|| "-".into(), escape),
            count = card.versions,
            plural = if card.versions == 1 { "" } else { "s" },
            labels = labels(&card.labels),
        ));
    }
    body.push_str("</div>\n</main>");
    page("Packs", &body, Some(FILTER_SCRIPT))
}
