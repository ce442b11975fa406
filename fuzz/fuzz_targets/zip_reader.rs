//! The runtime's ZIP extraction on arbitrary archives: refused or extracted inside `dest`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = dir.path().join("in.zip");
    std::fs::write(&zip, data).expect("write");
    let dest = dir.path().join("dest");
    std::fs::create_dir(&dest).expect("mkdir");
    let _ = fnops_runtime::code::extract_zip(&zip, &dest);
    for entry in std::fs::read_dir(dir.path()).expect("read") {
        let name = entry.expect("entry").file_name();
        assert!(name == "in.zip" || name == "dest", "wrote outside dest: {name:?}");
    }
});
