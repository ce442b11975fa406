//! `fnops.yaml` plus one overlay, from arbitrary bytes: findings, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (base, overlay) = data.split_at(data.len() / 2);
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("fnops.yaml"), base).expect("write");
    std::fs::create_dir(dir.path().join("environments")).expect("mkdir");
    std::fs::write(dir.path().join("environments/dev.yaml"), overlay).expect("write");
    let _ = fnops::project::load(dir.path(), None);
});
