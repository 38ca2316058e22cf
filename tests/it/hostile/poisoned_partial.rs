//! Bytes kept in the download cache that are not the blob's (a hostile registry sent them):
//! the next pull from a genuine registry drops them and downloads the blob again, in the same
//! run.

use crate::support as common;

use common::registry::{Registry, Tls};
use common::{ok, snapshot, Sandbox};

use super::s;

const MIB: u64 = 1024 * 1024;

#[test]
fn a_pull_over_poisoned_kept_bytes_downloads_the_blob_again_and_succeeds() {
    require_peers!("docker-registry");
    let reg = Registry::start(Tls::None, None);
    let sb = Sandbox::new();
    let dir = common::pack_with_version(&sb.path("pack"), "hello-manifests", "1.0.0");
    let payload = dir.join("payload.bin");
    common::write_random(&payload, 20 * MIB);
    ok(&sb.run(&["-r", &reg.addr, "--plain-http", "push", s(&dir)]));
    let digest = packreg::digest::Digest::of(&std::fs::read(&payload).unwrap());
    let downloads = sb.path(".cache/packreg/downloads");
    for (n, poison) in [(0, 8 * MIB), (1, 20 * MIB)] {
        // Part of the blob, then the whole of it, wrong.
        std::fs::create_dir_all(&downloads).unwrap();
        let kept = downloads.join(format!("{}.partial", digest.hex()));
        std::fs::write(&kept, vec![0x5a; poison as usize]).unwrap();
        let out = sb.path(&format!("out{n}"));
        ok(&sb.run(&[
            "-r",
            &reg.addr,
            "--plain-http",
            "pull",
            "hello-manifests:1.0.0",
            "-o",
            s(&out),
        ]));
        assert!(snapshot(&out) == snapshot(&dir), "pulled pack differs");
        assert!(!kept.exists(), "the kept bytes were left");
    }
}
