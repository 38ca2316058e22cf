//! The README's main-job command, pasted as a new user would, with `cargo run --release --`
//! standing for the packreg binary and a private data folder.

use crate::support as common;

use std::process::Command;

fn run_it_command() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Run it")
        .nth(1)
        .expect("README has a Run it section");
    let block = section.split("```sh\n").nth(1).expect("a sh block");
    block.split("```").next().unwrap().trim().to_string()
}

#[test]
fn readme_main_job_works() {
    let command = run_it_command();
    assert!(
        command.contains("push") && command.contains("pull"),
        "{command}"
    );
    let binary = env!("CARGO_BIN_EXE_packreg");
    let script = command.replace("cargo run --release --", binary);
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("bash");
    common::isolate(&mut cmd, tmp.path(), &[]);
    let out = cmd
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_DATA_HOME", tmp.path().join("data"))
        .env("TMPDIR", tmp.path())
        .env_remove("PACKREG_REGISTRY")
        .env_remove("PACKREG_FORMAT")
        .output()
        .unwrap();
    let text = common::ok(&out);
    assert!(text.contains("pulled pack is identical"), "{text}");
    assert!(tmp
        .path()
        .join("data/packreg/store/spectro-packs/archive/shop/index.json")
        .is_file());
}
