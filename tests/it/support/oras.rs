//! The ORAS Python SDK as a peer (`oras` on PyPI): pull an artifact into a folder, push files of
//! a folder, against a loopback registry over plain HTTP. Callers check the output.

use std::path::Path;
use std::process::{Command, Output};

const CLIENT: &str =
    "import sys, oras.client\nc = oras.client.OrasClient(hostname=sys.argv[1], insecure=True)\n";

/// `oras pull` of `target` (a full reference) from `registry` into `out`.
pub fn pull(registry: &str, target: &str, out: &Path) -> Output {
    let script = format!("{CLIENT}c.pull(target=sys.argv[2], outdir=sys.argv[3])\n");
    Command::new("python3")
        .args(["-c", &script, registry, target, out.to_str().unwrap()])
        .output()
        .unwrap()
}

/// `oras push` of `file` (a name in the folder `dir`) to `target` on `registry`.
pub fn push(registry: &str, target: &str, dir: &Path, file: &str) -> Output {
    let script = format!("{CLIENT}c.push(target=sys.argv[2], files=[sys.argv[3]])\n");
    Command::new("python3")
        .args(["-c", &script, registry, target, file])
        .current_dir(dir)
        .output()
        .unwrap()
}
