//! The direction of `src/`, checked: no circle between files, and no forbidden edge.
//!
//! The test reads every `src/**/*.rs` file reached from `src/lib.rs` and `src/main.rs` through
//! `mod` declarations, finds the paths each file names (`use` trees, `crate::`, `super::`,
//! `self::`, `packreg::` paths, and paths through a name a `use` brought in or a child module),
//! maps each to the file that defines the named item, and checks the file graph, in the spirit
//! of go-containerregistry's `internal/depcheck`.
//!
//! What counts as an edge from file A to file B (A ≠ B):
//! - A names an item (type, function, constant, macro, variant...) defined in B, in a `use`
//!   or in a path anywhere in its code, macro arguments included. Naming a module alone
//!   (`use crate::store;`) is no edge; the paths through it are.
//! - A re-export (`pub use`, `pub(crate) use`) of something inside A's own module subtree is
//!   structure, not dependence: it is no edge, and a path through it resolves to the file that
//!   defines the item (so `crate::store::RemoteStore` is an edge to `store/remote/mod.rs`).
//!   A re-export of anything outside A's subtree is an edge: A's API depends on it, and A is
//!   a facade for it: a path through it is an edge to A, not to the file behind it (so ops
//!   that name `store::remote::probe::RemoteStore` depend on the probe module, the one door
//!   the layer rules leave them). Either re-export is also an edge when A itself uses the
//!   name.
//! - A `mod` declaration is no edge: a parent holding its children is not a dependence.
//! - An edge from a file to the file of one of its ancestor modules (a child using `super::`
//!   items, or its parent's by full path) counts for the layer rules but not in the circle
//!   check: a folder's `mod.rs` is the interface its files share, as the files of one Go
//!   package share its scope. So a `mod.rs` that re-exports or calls its children while they
//!   use its items is no circle; a circle between siblings, or across folders, is.
//! - Test code (items under `#[cfg(test)]`) is not counted, as depcheck reads the non-test
//!   imports: a test may reach across layers to build its fixture.
//!
//! The lexing is `proc-macro2`'s (the tokenizer under `syn`): comments, doc comments, string
//! and raw string literals, char literals and lifetimes are told apart exactly, so a path in
//! a comment or a string never counts and a path inside a macro call does.
//!
//! When this fails: a new circle or forbidden edge is printed with the lines that make it;
//! move the shared part down a layer (a leaf module both sides use) rather than listing it.
//! `KNOWN_VIOLATIONS` lists those that existed when the test was written; it can only shrink.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// A violation present when the test was written. Each must still exist exactly as listed
/// (a gone or changed one fails the test, so the list only shrinks): remove the entry once
/// the circle or edge is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// A circle: the files of one strongly connected component, in any order.
    Circle(&'static [&'static str]),
    /// A forbidden edge: from file, to file (paths under `src/`).
    Edge(&'static str, &'static str),
}

/// Violations tolerated for now: none. Issue 16 removed the five file circles and the forbidden
/// edges that existed when this test was written; a violation listed here must say why it is
/// tolerated and which change removes it.
const KNOWN_VIOLATIONS: &[Known] = &[];

/// The layer rules: files in `from` areas may not name items in `to` areas, except in
/// `allowed`. An area is a file or folder under `src/` (`"store/"` is `store/**`; a name
/// without `/` or `.rs` is a prefix of a file name, as `store/remote/probe` for `probe*`).
struct Rule {
    name: &'static str,
    from: &'static [&'static str],
    to: &'static [&'static str],
    allowed: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        name: "the model (pack, archive, OCI, artifact, digest, reference, name) imports no store, ops, config or CLI",
        from: &[
            "pack/",
            "archive/",
            "oci.rs",
            "artifact/",
            "digest.rs",
            "reference.rs",
            "name.rs",
            "name/",
        ],
        to: &["store/", "ops/", "config/", "cli/"],
        allowed: &[],
    },
    Rule {
        name: "the store imports no config and no ops",
        from: &["store/"],
        to: &["config/", "ops/", "cli/"],
        allowed: &[],
    },
    Rule {
        name: "ops reach the remote store only through the Store trait and the probe module",
        from: &["ops/"],
        to: &["store/remote/"],
        allowed: &["store/remote/probe"],
    },
];

/// The whole graph, for a reader: `cargo test --test layering -- --ignored --nocapture`.
#[test]
#[ignore = "prints the graph; checks nothing"]
fn print_graph() {
    let graph = Graph::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    for ((from, to), sites) in &graph.edges {
        let up = if graph.upward.contains(&(from.clone(), to.clone())) {
            " (upward)"
        } else {
            ""
        };
        println!("{from} -> {to}{up}");
        for site in sites {
            println!("    {site}");
        }
    }
}

#[test]
fn src_has_no_new_circle_and_no_forbidden_edge() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = Graph::read(&src);
    let problems = check(&graph, KNOWN_VIOLATIONS);
    assert!(
        problems.is_empty(),
        "the import graph of src/ ({} files, {} edges):\n\n{}",
        graph.files.len(),
        graph.edges.len(),
        problems.join("\n\n")
    );
}

// ----- the check -----

/// A violation found in the graph, printable with its evidence.
#[derive(Debug)]
enum Violation {
    Circle {
        files: Vec<String>,
        /// One closed walk through the component, with the line that makes each step.
        path: Vec<(String, String, Vec<Site>)>,
    },
    Edge {
        rule: &'static str,
        from: String,
        to: String,
        sites: Vec<Site>,
    },
}

impl Violation {
    fn matches(&self, known: &Known) -> bool {
        match (self, known) {
            (Violation::Circle { files, .. }, Known::Circle(k)) => {
                let k: BTreeSet<&str> = k.iter().copied().collect();
                files.len() == k.len() && files.iter().all(|f| k.contains(f.as_str()))
            }
            (Violation::Edge { from, to, .. }, Known::Edge(f, t)) => from == f && to == t,
            _ => false,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Circle { files, path } => {
                writeln!(
                    f,
                    "circle between {} files: {}",
                    files.len(),
                    files.join(", ")
                )?;
                for (from, to, sites) in path {
                    writeln!(f, "  {from} -> {to}")?;
                    for site in sites.iter().take(3) {
                        writeln!(f, "      {site}")?;
                    }
                }
                write!(f, "  as an entry: Known::Circle(&{files:?}),")
            }
            Violation::Edge {
                rule,
                from,
                to,
                sites,
            } => {
                writeln!(f, "forbidden edge {from} -> {to} ({rule})")?;
                for site in sites.iter().take(5) {
                    writeln!(f, "      {site}")?;
                }
                write!(f, "  as an entry: Known::Edge({from:?}, {to:?}),")
            }
        }
    }
}

/// Every problem: a violation not in `known`, and an entry of `known` that no longer exists.
fn check(graph: &Graph, known: &[Known]) -> Vec<String> {
    let found = violations(graph);
    let mut problems = Vec::new();
    for v in &found {
        if !known.iter().any(|k| v.matches(k)) {
            problems.push(format!("NEW {v}"));
        }
    }
    for k in known {
        if !found.iter().any(|v| v.matches(k)) {
            problems.push(format!(
                "GONE {k:?} is listed in KNOWN_VIOLATIONS but no longer exists as listed: \
                 remove the entry (or, if a circle only shrank, replace it by the NEW one)"
            ));
        }
    }
    problems
}

fn in_area(file: &str, areas: &[&str]) -> bool {
    areas.iter().any(|a| {
        if a.ends_with('/') || a.ends_with(".rs") {
            file == *a || file.starts_with(a)
        } else {
            file.starts_with(a)
        }
    })
}

fn violations(graph: &Graph) -> Vec<Violation> {
    let mut found = Vec::new();
    for component in graph.circles() {
        let path = graph.walk(&component);
        found.push(Violation::Circle {
            files: component,
            path,
        });
    }
    for ((from, to), sites) in &graph.edges {
        for rule in RULES {
            if in_area(from, rule.from) && in_area(to, rule.to) && !in_area(to, rule.allowed) {
                found.push(Violation::Edge {
                    rule: rule.name,
                    from: from.clone(),
                    to: to.clone(),
                    sites: sites.clone(),
                });
            }
        }
    }
    found
}

// ----- the file graph -----

/// Where a file names another: the line and the path as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Site {
    file: String,
    line: usize,
    path: String,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.path)
    }
}

struct Graph {
    /// Every file scanned, relative to `src/`, with `/` separators.
    files: BTreeSet<String>,
    /// (from, to) → where `from` names items of `to`.
    edges: BTreeMap<(String, String), Vec<Site>>,
    /// The edges from a file to the file of one of its ancestor modules (a child using its
    /// parent's items): left out of the circle check, as the header says.
    upward: BTreeSet<(String, String)>,
}

impl Graph {
    fn read(src: &Path) -> Graph {
        let tree = Tree::read(src);
        let mut edges: BTreeMap<(String, String), Vec<Site>> = BTreeMap::new();
        let mut upward = BTreeSet::new();
        for (id, module) in tree.modules.iter().enumerate() {
            for reference in &module.refs {
                for target in tree.edge_targets(id, reference) {
                    let to = &tree.modules[target].file;
                    if *to != module.file {
                        if tree.is_within(id, target) {
                            upward.insert((module.file.clone(), to.clone()));
                        }
                        edges
                            .entry((module.file.clone(), to.clone()))
                            .or_default()
                            .push(Site {
                                file: module.file.clone(),
                                line: reference.line,
                                path: reference.path.join("::"),
                            });
                    }
                }
            }
        }
        for sites in edges.values_mut() {
            sites.sort();
            sites.dedup();
        }
        let files = tree.modules.iter().map(|m| m.file.clone()).collect();
        Graph {
            files,
            edges,
            upward,
        }
    }

    fn next<'a>(&'a self, file: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.edges
            .keys()
            .filter(move |key| key.0 == file && !self.upward.contains(*key))
            .map(|(_, to)| to.as_str())
    }

    /// The strongly connected components of more than one file (Tarjan), each sorted.
    fn circles(&self) -> Vec<Vec<String>> {
        struct State<'a> {
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: BTreeSet<&'a str>,
            out: Vec<Vec<String>>,
        }
        fn visit<'a>(g: &'a Graph, v: &'a str, s: &mut State<'a>) {
            let i = s.index.len();
            s.index.insert(v, i);
            s.low.insert(v, i);
            s.stack.push(v);
            s.on_stack.insert(v);
            for w in g.next(v) {
                if !s.index.contains_key(w) {
                    visit(g, w, s);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if s.low[v] == s.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = s.stack.pop().expect("on the stack");
                    s.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    s.out.push(component);
                }
            }
        }
        let mut s = State {
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            out: Vec::new(),
        };
        for f in &self.files {
            if !s.index.contains_key(f.as_str()) {
                visit(self, f, &mut s);
            }
        }
        s.out.sort();
        s.out
    }

    /// A closed walk from the component's first file back to it, through every file of the
    /// component it can reach by shortest steps (enough to show why they form a circle).
    fn walk(&self, component: &[String]) -> Vec<(String, String, Vec<Site>)> {
        let inside: BTreeSet<&str> = component.iter().map(String::as_str).collect();
        let start = component[0].as_str();
        let mut steps = Vec::new();
        let mut seen = BTreeSet::new();
        let mut at = start;
        // Visit each file once, always stepping to the nearest unvisited one, then home.
        loop {
            seen.insert(at);
            let target = component
                .iter()
                .map(String::as_str)
                .find(|f| !seen.contains(f))
                .unwrap_or(start);
            let route = self.shortest(at, target, &inside);
            for pair in route.windows(2) {
                let sites = self.edges[&(pair[0].to_string(), pair[1].to_string())].clone();
                steps.push((pair[0].to_string(), pair[1].to_string(), sites));
                seen.insert(pair[1]);
            }
            at = route.last().copied().unwrap_or(start);
            if at == start {
                return steps;
            }
        }
    }

    fn shortest<'a>(&'a self, from: &'a str, to: &'a str, inside: &BTreeSet<&str>) -> Vec<&'a str> {
        let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(v) = queue.pop_front() {
            for w in self.next(v) {
                if inside.contains(w) && !previous.contains_key(w) && w != from {
                    previous.insert(w, v);
                    queue.push_back(w);
                }
                if w == to {
                    let mut route = vec![to];
                    let mut at = v;
                    while at != from {
                        route.push(at);
                        at = previous[at];
                    }
                    route.push(from);
                    route.reverse();
                    return route;
                }
            }
        }
        vec![from]
    }
}

// ----- the module tree -----

/// A path named in a file: its segments as written, and where.
#[derive(Debug, Clone)]
struct Ref {
    path: Vec<String>,
    line: usize,
    /// From a re-export (`pub use`): counted only as the rules in the header say.
    reexport: bool,
    /// The name a `use` leaf brings in (for a re-export: is it used here too?).
    name: Option<String>,
    /// A glob `use path::*`: an edge to the module, whatever it holds.
    glob: bool,
}

/// A name a `use` brings into a module.
#[derive(Debug, Clone)]
struct Import {
    path: Vec<String>,
    /// A `pub use`: the module offers the name as its own.
    public: bool,
}

#[derive(Debug, Default)]
struct Module {
    /// The file that holds it (inline modules share their parent's file).
    file: String,
    /// The folder its child module files are in.
    dir: PathBuf,
    parent: Option<usize>,
    /// The crate root it belongs to (the library's or the binary's).
    root: usize,
    children: BTreeMap<String, usize>,
    /// Items it defines.
    items: BTreeSet<String>,
    /// Names its `use` declarations bring in (last segment or `as` name) → path.
    imports: BTreeMap<String, Import>,
    /// `use path::*` targets.
    globs: Vec<Import>,
    refs: Vec<Ref>,
    /// Identifiers it uses on their own (not followed by `::`): a re-exported name used here.
    bare: BTreeSet<String>,
}

/// What a path resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Module(usize),
    /// An item of that module (or a name the test cannot see defined, kept in that module).
    Item(usize),
}

struct Tree {
    src: PathBuf,
    modules: Vec<Module>,
    lib_root: Option<usize>,
    bin_root: Option<usize>,
    /// Files of `#[cfg(test)] mod name;` declarations: test code, not read.
    test_files: BTreeSet<String>,
}

const ITEM_KEYWORDS: &[&str] = &[
    "fn", "struct", "enum", "union", "trait", "type", "const", "static",
];

impl Tree {
    fn read(src: &Path) -> Tree {
        let mut tree = Tree {
            src: src.to_path_buf(),
            modules: Vec::new(),
            lib_root: None,
            bin_root: None,
            test_files: BTreeSet::new(),
        };
        for (root, slot) in [("lib.rs", 0), ("main.rs", 1)] {
            if src.join(root).is_file() {
                let id = tree.load_file(None, root.to_string(), PathBuf::new());
                if slot == 0 {
                    tree.lib_root = Some(id);
                } else {
                    tree.bin_root = Some(id);
                }
            }
        }
        // Every file under src/ must be reached: a file the test cannot place is a gap in it.
        let reached: BTreeSet<&str> = tree
            .modules
            .iter()
            .map(|m| m.file.as_str())
            .chain(tree.test_files.iter().map(String::as_str))
            .collect();
        for entry in walkdir::WalkDir::new(src) {
            let entry = entry.expect("reading src/");
            let rel = relative(src, entry.path());
            if rel.ends_with(".rs") && !reached.contains(rel.as_str()) {
                panic!("src/{rel} is reached by no `mod` declaration the layering test follows");
            }
        }
        tree
    }

    fn load_file(&mut self, parent: Option<usize>, file: String, dir: PathBuf) -> usize {
        let text = std::fs::read_to_string(self.src.join(&file))
            .unwrap_or_else(|e| panic!("reading src/{file}: {e}"));
        let tokens: TokenStream = text
            .parse()
            .unwrap_or_else(|e| panic!("lexing src/{file}: {e:?}"));
        let id = self.new_module(parent, file, dir);
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        self.scan_items(id, &tokens);
        id
    }

    fn new_module(&mut self, parent: Option<usize>, file: String, dir: PathBuf) -> usize {
        let id = self.modules.len();
        let root = parent.map_or(id, |p| self.modules[p].root);
        self.modules.push(Module {
            file,
            dir,
            parent,
            root,
            ..Module::default()
        });
        id
    }

    /// The items of a module body: `mod` declarations, item names, `use` declarations, and
    /// the paths in everything else.
    fn scan_items(&mut self, id: usize, tokens: &[TokenTree]) {
        let mut i = 0;
        let mut test_only = false;
        while i < tokens.len() {
            // Attributes: `#[...]` and `#![...]`; `#[cfg(test)]` marks the next item.
            if is_punct(&tokens[i], '#') {
                let mut j = i + 1;
                if tokens.get(j).is_some_and(|t| is_punct(t, '!')) {
                    j += 1;
                }
                if let Some(TokenTree::Group(g)) = tokens.get(j) {
                    if g.delimiter() == Delimiter::Bracket {
                        if j == i + 1 && is_cfg_test(&g.stream()) {
                            test_only = true;
                        }
                        i = j + 1;
                        continue;
                    }
                }
            }
            let end = item_end(tokens, i);
            let item = &tokens[i..end];
            i = end;
            if test_only {
                test_only = false;
                // `#[cfg(test)] [pub(crate)] mod tests;`: its file is test code, known and not
                // read.
                if let [.., TokenTree::Ident(m), TokenTree::Ident(name), end] = item {
                    if m == "mod" && is_punct(end, ';') {
                        let dir = self.modules[id].dir.clone();
                        self.test_files
                            .insert(self.child_file(&dir, &name.to_string()).0);
                    }
                }
                continue;
            }
            let words: Vec<String> = item
                .iter()
                .map_while(|t| match t {
                    TokenTree::Ident(w) => Some(w.to_string()),
                    TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
                        Some(String::new())
                    }
                    TokenTree::Literal(_) => Some(String::new()),
                    _ => None,
                })
                .collect();
            let public = words.first().is_some_and(|w| w == "pub");
            let kind = words.iter().position(|w| {
                !matches!(
                    w.as_str(),
                    "pub" | "" | "unsafe" | "async" | "extern" | "default" | "crate"
                )
            });
            let Some(k) = kind else {
                self.scan_code(id, item);
                continue;
            };
            match words[k].as_str() {
                "use" => {
                    let pos = item
                        .iter()
                        .position(|t| is_ident(t, "use"))
                        .expect("a use item");
                    self.scan_use(id, &item[pos + 1..], public);
                }
                "mod" => self.declare_mod(id, &item[k + 1..]),
                "macro_rules" => {
                    if let Some(TokenTree::Ident(name)) = item.get(k + 2) {
                        self.modules[id].items.insert(name.to_string());
                    }
                    self.scan_code(id, &item[k + 1..]);
                }
                "impl" => self.scan_code(id, item),
                word => {
                    if ITEM_KEYWORDS.contains(&word) {
                        // `const fn name`: the name follows the last keyword.
                        let name = item[k..].iter().find_map(|t| match t {
                            TokenTree::Ident(w)
                                if !ITEM_KEYWORDS.contains(&w.to_string().as_str())
                                    && !matches!(
                                        w.to_string().as_str(),
                                        "unsafe" | "async" | "extern" | "mut"
                                    ) =>
                            {
                                Some(w.to_string())
                            }
                            _ => None,
                        });
                        if let Some(name) = name {
                            self.modules[id].items.insert(name);
                        }
                    }
                    self.scan_code(id, item);
                }
            }
        }
    }

    /// `mod name;` (a file, read and scanned) or `mod name { ... }` (inline, scanned), after
    /// the keyword.
    fn declare_mod(&mut self, id: usize, rest: &[TokenTree]) {
        let Some(TokenTree::Ident(name)) = rest.first() else {
            return;
        };
        let name = name.to_string();
        let parent_dir = self.modules[id].dir.clone();
        match rest.get(1) {
            Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => {
                let file = self.modules[id].file.clone();
                let child = self.new_module(Some(id), file, parent_dir.join(&name));
                self.modules[id].children.insert(name, child);
                let body: Vec<TokenTree> = body.stream().into_iter().collect();
                self.scan_items(child, &body);
            }
            _ => {
                let (file, dir) = self.child_file(&parent_dir, &name);
                let child = self.load_file(Some(id), file, dir);
                self.modules[id].children.insert(name, child);
            }
        }
    }

    /// `dir/name.rs` or `dir/name/mod.rs`, and the folder of its children.
    fn child_file(&self, dir: &Path, name: &str) -> (String, PathBuf) {
        let flat = dir.join(format!("{name}.rs"));
        let folder = dir.join(name).join("mod.rs");
        let file = if self.src.join(&flat).is_file() {
            flat
        } else if self.src.join(&folder).is_file() {
            folder
        } else {
            panic!("no file for `mod {name}` in src/{}", dir.display());
        };
        (relative(Path::new(""), &file), dir.join(name))
    }

    /// A `use` tree (after the keyword, up to its `;`): its names and its references.
    fn scan_use(&mut self, id: usize, tokens: &[TokenTree], public: bool) {
        let mut leaves = Vec::new();
        use_tree(tokens, &mut Vec::new(), &mut leaves);
        for (path, alias, line) in leaves {
            let mut name = None;
            match &alias {
                UseName::Glob => self.modules[id].globs.push(Import {
                    path: path.clone(),
                    public,
                }),
                UseName::Named(local) => {
                    name = Some(local.clone());
                    self.modules[id].imports.insert(
                        local.clone(),
                        Import {
                            path: path.clone(),
                            public,
                        },
                    );
                }
                UseName::Hidden => {}
            }
            self.modules[id].refs.push(Ref {
                path,
                line,
                reexport: public,
                name,
                glob: matches!(alias, UseName::Glob),
            });
        }
    }

    /// Paths anywhere in a stretch of code (groups and macro arguments included), `use`
    /// declarations in blocks, and identifiers used on their own.
    fn scan_code(&mut self, id: usize, tokens: &[TokenTree]) {
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => {
                    let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                    if g.delimiter() == Delimiter::Brace {
                        // A block may hold items (a `use`, a nested fn) as well as code.
                        self.scan_block(id, &inner);
                    } else {
                        self.scan_code(id, &inner);
                    }
                    i += 1;
                }
                TokenTree::Ident(w) if w == "use" => {
                    let end = tokens[i..]
                        .iter()
                        .position(|t| is_punct(t, ';'))
                        .map_or(tokens.len(), |p| i + p);
                    self.scan_use(id, &tokens[i + 1..end], false);
                    i = end + 1;
                }
                TokenTree::Ident(first) => {
                    let leading = i >= 2 && is_path_sep(&tokens[i - 2], &tokens[i - 1]);
                    let after_dot = i >= 1 && is_punct(&tokens[i - 1], '.');
                    let mut path = vec![first.to_string()];
                    let mut j = i + 1;
                    while j + 2 < tokens.len()
                        && is_path_sep(&tokens[j], &tokens[j + 1])
                        && matches!(tokens[j + 2], TokenTree::Ident(_))
                    {
                        path.push(tokens[j + 2].to_string());
                        j += 3;
                    }
                    if !leading && !after_dot {
                        if path.len() > 1 {
                            self.modules[id].refs.push(Ref {
                                path,
                                line: first.span().start().line,
                                reexport: false,
                                name: None,
                                glob: false,
                            });
                        } else {
                            let next = tokens.get(j);
                            let field = next.is_some_and(|t| {
                                is_punct(t, '.')
                                    || (is_punct(t, ':')
                                        && matches!(t, TokenTree::Punct(p) if p.spacing() == Spacing::Alone))
                            });
                            if !field {
                                self.modules[id].bare.insert(path.remove(0));
                            }
                        }
                    }
                    i = j;
                }
                _ => i += 1,
            }
        }
    }

    /// A `{ ... }` block: statements and items; items get the module-level treatment only
    /// for what matters here (`use`, paths), so this is `scan_code` with `#[cfg(test)]`
    /// items skipped.
    fn scan_block(&mut self, id: usize, tokens: &[TokenTree]) {
        let mut start = 0;
        let mut i = 0;
        while i < tokens.len() {
            if is_punct(&tokens[i], '#') {
                if let Some(TokenTree::Group(g)) = tokens.get(i + 1) {
                    if g.delimiter() == Delimiter::Bracket && is_cfg_test(&g.stream()) {
                        self.scan_code(id, &tokens[start..i]);
                        let end = item_end(tokens, i + 2);
                        i = end;
                        start = end;
                        continue;
                    }
                }
            }
            i += 1;
        }
        self.scan_code(id, &tokens[start..]);
    }

    // ----- resolution -----

    fn module_target(&self, target: Target) -> usize {
        match target {
            Target::Module(m) | Target::Item(m) => m,
        }
    }

    /// The files a reference makes an edge to, as the header says.
    fn edge_targets(&self, id: usize, reference: &Ref) -> Vec<usize> {
        let mut out = Vec::new();
        for target in self.resolve(id, &reference.path, 0) {
            let file_of = self.module_target(target);
            if matches!(target, Target::Module(_)) && !reference.glob {
                continue;
            }
            if reference.reexport && self.is_within(file_of, id) {
                let used_here = reference
                    .name
                    .as_ref()
                    .is_some_and(|n| self.modules[id].bare.contains(n));
                if !used_here {
                    continue;
                }
            }
            out.push(file_of);
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether module `m` is `ancestor` or inside it.
    fn is_within(&self, mut m: usize, ancestor: usize) -> bool {
        loop {
            if m == ancestor {
                return true;
            }
            match self.modules[m].parent {
                Some(p) => m = p,
                None => return false,
            }
        }
    }

    /// Where a path starts: the module its first segments name, and the rest; None for a
    /// path outside the crate (std, a dependency, a local variable, `Self`).
    fn start<'p>(
        &self,
        id: usize,
        path: &'p [String],
        depth: usize,
    ) -> Option<(Target, &'p [String])> {
        if depth > 16 {
            return None;
        }
        let first = path.first()?.as_str();
        let module = &self.modules[id];
        match first {
            "crate" => Some((Target::Module(module.root), &path[1..])),
            "self" => Some((Target::Module(id), &path[1..])),
            "super" => {
                let mut m = id;
                let mut k = 0;
                while path.get(k).is_some_and(|s| s == "super") {
                    m = self.modules[m].parent?;
                    k += 1;
                }
                Some((Target::Module(m), &path[k..]))
            }
            "packreg" if Some(module.root) == self.bin_root => {
                Some((Target::Module(self.lib_root?), &path[1..]))
            }
            name => {
                if let Some(&child) = module.children.get(name) {
                    return Some((Target::Module(child), &path[1..]));
                }
                let import = module.imports.get(name)?;
                if import.path.first().is_some_and(|s| s == name) && import.path.len() == 1 {
                    return None;
                }
                // The import's own target(s), then the rest of this path from there.
                let targets = self.resolve(id, &import.path, depth + 1);
                let first = *targets.first()?;
                Some((first, &path[1..]))
            }
        }
    }

    /// Every target a full path may name (a module and an item can share a name).
    fn resolve(&self, id: usize, path: &[String], depth: usize) -> Vec<Target> {
        if depth > 16 {
            return Vec::new();
        }
        match self.start(id, path, depth) {
            Some((first, rest)) => self.walk_path(first, rest, depth + 1),
            None => Vec::new(),
        }
    }

    /// From a module, down the remaining segments; an item ends the walk (the rest are
    /// associated items or variants). A name that is a child module and also an item (a
    /// re-exported function named as its module) gives both.
    fn walk_path(&self, from: Target, rest: &[String], depth: usize) -> Vec<Target> {
        let Target::Module(mut m) = from else {
            return vec![from];
        };
        for (k, seg) in rest.iter().enumerate() {
            let module = &self.modules[m];
            if let Some(&child) = module.children.get(seg.as_str()) {
                if k + 1 == rest.len() {
                    let mut out = vec![Target::Module(child)];
                    if module.items.contains(seg) || module.imports.contains_key(seg) {
                        out.extend(self.item(m, seg, depth));
                    }
                    return out;
                }
                m = child;
                continue;
            }
            return self.item(m, seg, depth);
        }
        vec![Target::Module(m)]
    }

    /// The item `name` of module `m`, following its imports and glob imports to the module
    /// that defines it.
    fn item(&self, m: usize, name: &str, depth: usize) -> Vec<Target> {
        let module = &self.modules[m];
        if module.items.contains(name) || depth > 16 {
            return vec![Target::Item(m)];
        }
        if let Some(import) = module.imports.get(name) {
            let found = self.resolve(m, &import.path, depth + 1);
            // A facade: a `pub use` of an item from outside m's own subtree makes it part of
            // m's interface, so a path through it is an edge to m (and m has its own edge to
            // the origin). A re-export of m's own children stays structure: the path goes on
            // to the file that defines the item.
            let outside = found
                .iter()
                .any(|t| !self.is_within(self.module_target(*t), m));
            if import.public && outside {
                return vec![Target::Item(m)];
            }
            // A dependency's item imported here (`use std::...`): not in the crate.
            return found;
        }
        for glob in &module.globs {
            for target in self.resolve(m, &glob.path, depth + 1) {
                if let Target::Module(g) = target {
                    let inner = self.item(g, name, depth + 1);
                    if inner.iter().any(
                        |t| matches!(t, Target::Item(i) if self.modules[*i].items.contains(name)),
                    ) {
                        return inner;
                    }
                }
            }
        }
        vec![Target::Item(m)]
    }
}

// ----- token helpers -----

enum UseName {
    Named(String),
    Glob,
    /// `as _`, or `self` of a path the caller already names.
    Hidden,
}

/// The leaves of a `use` tree: full path, the name it brings in, the line.
fn use_tree(
    tokens: &[TokenTree],
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, UseName, usize)>,
) {
    let depth = prefix.len();
    let mut i = 0;
    // A leading `::` (an extern crate path): nothing of ours.
    if tokens.len() >= 2 && is_path_sep(&tokens[0], &tokens[1]) {
        return;
    }
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Ident(w) => {
                let line = w.span().start().line;
                let word = w.to_string();
                let sep = tokens
                    .get(i + 1)
                    .zip(tokens.get(i + 2))
                    .is_some_and(|(a, b)| is_path_sep(a, b));
                if sep {
                    prefix.push(word);
                    i += 3;
                    continue;
                }
                // A leaf: `name`, `name as alias`, `self`.
                let mut name = UseName::Named(word.clone());
                let mut path = prefix.clone();
                if word == "self" {
                    name = match prefix.last() {
                        Some(last) => UseName::Named(last.clone()),
                        None => UseName::Hidden,
                    };
                } else {
                    path.push(word);
                }
                i += 1;
                if tokens.get(i).is_some_and(|t| is_ident(t, "as")) {
                    name = match tokens.get(i + 1) {
                        Some(TokenTree::Ident(a)) if a != "_" => UseName::Named(a.to_string()),
                        _ => UseName::Hidden,
                    };
                    i += 2;
                }
                out.push((path, name, line));
            }
            TokenTree::Punct(p) if p.as_char() == '*' => {
                out.push((prefix.clone(), UseName::Glob, p.span().start().line));
                i += 1;
            }
            TokenTree::Punct(p) if p.as_char() == ',' => {
                prefix.truncate(depth);
                i += 1;
            }
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                for part in inner.split(|t| is_punct(t, ',')) {
                    let mut p = prefix.clone();
                    use_tree(part, &mut p, out);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    prefix.truncate(depth);
}

/// The end (exclusive) of the item starting at `i`: after its `;`, or after its body's
/// braces (for a `const`, `static`, `type`, `use`, only after the `;`).
fn item_end(tokens: &[TokenTree], i: usize) -> usize {
    let until_semi = tokens[i..]
        .iter()
        .map_while(|t| match t {
            TokenTree::Ident(w) => Some(w.to_string()),
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => Some(String::new()),
            _ => None,
        })
        .find(|w| {
            !matches!(
                w.as_str(),
                "pub" | "" | "crate" | "unsafe" | "async" | "extern" | "default"
            )
        })
        .is_some_and(|w| matches!(w.as_str(), "const" | "static" | "type" | "use" | "let"))
        && !tokens[i..].iter().take(4).any(|t| is_ident(t, "fn"));
    for (k, t) in tokens.iter().enumerate().skip(i) {
        if is_punct(t, ';') {
            return k + 1;
        }
        if !until_semi {
            if let TokenTree::Group(g) = t {
                if g.delimiter() == Delimiter::Brace {
                    return k + 1;
                }
            }
        }
    }
    tokens.len()
}

fn is_cfg_test(attr: &TokenStream) -> bool {
    let text = attr.to_string().replace(' ', "");
    text == "cfg(test)" || (text.starts_with("cfg(all(test") && !text.contains("not("))
}

fn is_punct(t: &TokenTree, c: char) -> bool {
    matches!(t, TokenTree::Punct(p) if p.as_char() == c)
}

fn is_ident(t: &TokenTree, word: &str) -> bool {
    matches!(t, TokenTree::Ident(w) if w == word)
}

fn is_path_sep(a: &TokenTree, b: &TokenTree) -> bool {
    matches!(a, TokenTree::Punct(p) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
        && is_punct(b, ':')
}

fn relative(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

// ----- the scanner itself, on small trees -----

/// A throwaway `src/` holding `files` (path under src/, text), read into a graph.
fn synthetic(files: &[(&str, &str)]) -> (tempfile::TempDir, Graph) {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("folder");
        std::fs::write(path, text).expect("file");
    }
    let graph = Graph::read(dir.path());
    (dir, graph)
}

fn has_edge(graph: &Graph, from: &str, to: &str) -> bool {
    graph
        .edges
        .contains_key(&(from.to_string(), to.to_string()))
}

#[test]
fn a_new_circle_between_files_fails_with_its_lines() {
    let (_dir, graph) = synthetic(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A(B);\n"),
        (
            "b.rs",
            "pub struct B;\npub fn f() -> Option<super::a::A> {\n    None\n}\n",
        ),
    ]);
    let problems = check(&graph, &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let text = &problems[0];
    assert!(
        text.starts_with("NEW circle between 2 files: a.rs, b.rs"),
        "{text}"
    );
    assert!(text.contains("a.rs:1: crate::b::B"), "{text}");
    assert!(text.contains("b.rs:2: super::a::A"), "{text}");
    // Listed, it passes; the same list on a tree without the circle fails as GONE.
    let known = [Known::Circle(&["b.rs", "a.rs"])];
    assert!(check(&graph, &known).is_empty());
    let (_dir, fixed) = synthetic(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A(B);\n"),
        ("b.rs", "pub struct B;\n"),
    ]);
    let problems = check(&fixed, &known);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].starts_with("GONE Circle"), "{}", problems[0]);
}

#[test]
fn a_folder_re_exporting_its_children_is_no_circle() {
    let (_dir, graph) = synthetic(&[
        ("lib.rs", "pub mod store;\npub mod ops;\n"),
        (
            "store/mod.rs",
            "pub mod remote;\npub use remote::Remote;\npub trait Store {}\n",
        ),
        (
            "store/remote/mod.rs",
            "use super::Store;\npub struct Remote;\nimpl Store for Remote {}\n",
        ),
        ("ops/mod.rs", "pub fn run(_: &crate::store::Remote) {}\n"),
    ]);
    assert!(check(&graph, &[]).iter().all(|p| !p.contains("circle")));
    assert!(!has_edge(&graph, "store/mod.rs", "store/remote/mod.rs"));
    assert!(has_edge(&graph, "store/remote/mod.rs", "store/mod.rs"));
    // A path through the re-export is an edge to the file that defines the item: here a
    // forbidden one.
    assert!(has_edge(&graph, "ops/mod.rs", "store/remote/mod.rs"));
    let problems = check(&graph, &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].starts_with("NEW forbidden edge ops/mod.rs -> store/remote/mod.rs"));
}

#[test]
fn a_path_through_a_facade_is_an_edge_to_the_facade() {
    let (_dir, graph) = synthetic(&[
        ("lib.rs", "pub mod store;\npub mod ops;\n"),
        ("store/mod.rs", "pub mod remote;\npub trait Store {}\n"),
        (
            "store/remote/mod.rs",
            "pub mod probe;\npub struct Remote;\nimpl super::Store for Remote {}\n",
        ),
        (
            "store/remote/probe.rs",
            "pub use super::Remote;\npub struct Probe<'a>(pub &'a Remote);\n",
        ),
        (
            "ops/mod.rs",
            "use crate::store::remote::probe::{Probe, Remote};\npub fn run(r: &Remote) -> Probe<'_> { Probe(r) }\n",
        ),
    ]);
    // ops name the remote store only through the probe module, which the rules allow.
    assert!(has_edge(&graph, "ops/mod.rs", "store/remote/probe.rs"));
    assert!(!has_edge(&graph, "ops/mod.rs", "store/remote/mod.rs"));
    assert!(has_edge(
        &graph,
        "store/remote/probe.rs",
        "store/remote/mod.rs"
    ));
    assert_eq!(check(&graph, &[]), Vec::<String>::new());
}

#[test]
fn a_parent_calling_its_children_is_no_circle_but_siblings_are() {
    let (_dir, graph) = synthetic(&[
        ("lib.rs", "pub mod config;\n"),
        (
            "config/mod.rs",
            "mod file;\nmod migrate;\npub struct Error;\npub fn load() { file::read(); }\n",
        ),
        (
            "config/file.rs",
            "pub fn read() -> Result<(), super::Error> { super::migrate::run(); Ok(()) }\n",
        ),
        (
            "config/migrate.rs",
            "use super::file::read;\npub fn run() {}\npub fn again() { let _ = read(); }\n",
        ),
    ]);
    assert!(has_edge(&graph, "config/mod.rs", "config/file.rs"));
    assert!(has_edge(&graph, "config/file.rs", "config/mod.rs"));
    assert!(graph
        .upward
        .contains(&("config/file.rs".into(), "config/mod.rs".into())));
    let problems = check(&graph, &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("NEW circle between 2 files: config/file.rs, config/migrate.rs"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_forbidden_edge_fails_and_a_gone_one_too() {
    let (_dir, graph) = synthetic(&[
        ("lib.rs", "pub mod config;\npub mod pack;\npub mod store;\n"),
        ("config/mod.rs", "pub struct Settings;\n"),
        ("pack/mod.rs", "pub struct Pack;\n"),
        (
            "store/mod.rs",
            "pub fn open() {\n    let _ = format!(\"{:?}\", crate::config::Settings);\n}\n",
        ),
    ]);
    let known = [Known::Edge("pack/mod.rs", "store/mod.rs")];
    let problems = check(&graph, &known);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].starts_with("NEW forbidden edge store/mod.rs -> config/mod.rs"));
    assert!(problems[0].contains("store/mod.rs:2: crate::config::Settings"));
    assert!(problems[1].starts_with("GONE Edge"));
}

#[test]
fn comments_strings_and_test_code_name_nothing() {
    let (_dir, graph) = synthetic(&[
        ("lib.rs", "pub mod config;\npub mod store;\n"),
        ("config/mod.rs", "pub struct Settings;\n"),
        (
            "store/mod.rs",
            concat!(
                "//! Reads no [`crate::config::Settings`].\n",
                "// use crate::config::Settings;\n",
                "/* crate::config::Settings */\n",
                "pub const S: &str = \"crate::config::Settings\";\n",
                "pub const R: &str = r#\"crate::config::Settings\"#;\n",
                "pub fn f<'a>(x: &'a str) -> &'a str { x }\n",
                "#[cfg(test)]\n",
                "mod tests {\n    use crate::config::Settings;\n}\n",
                "#[cfg(test)]\n",
                "mod unit;\n",
            ),
        ),
        ("store/unit.rs", "use crate::config::Settings;\n"),
    ]);
    assert!(graph.edges.is_empty(), "{:?}", graph.edges);
}

#[test]
fn imports_child_modules_and_globs_resolve_to_their_files() {
    let (_dir, graph) = synthetic(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub mod d;\n"),
        ("a.rs", "use crate::b;\npub fn f() { b::inner::g(); }\n"),
        ("b/mod.rs", "pub mod inner;\n"),
        ("b/inner.rs", "pub fn g() {}\n"),
        ("c.rs", "use crate::d::*;\n"),
        ("d.rs", "pub fn h() {}\n"),
    ]);
    assert!(has_edge(&graph, "a.rs", "b/inner.rs"));
    assert!(!has_edge(&graph, "a.rs", "b/mod.rs"));
    assert!(has_edge(&graph, "c.rs", "d.rs"));
}
