//! Every file of a stack's directory is built in, with the text it has on disk.

use std::path::Path;

#[test]
fn every_file_of_every_stack_is_built_in() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut on_disk = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(crate_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !["src", "tests"].iter().any(|n| p.ends_with(n)))
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(crate_dir).unwrap();
                on_disk.push(format!("stacks/{}", relative.to_string_lossy()));
            }
        }
    }
    on_disk.sort();
    let mut built_in: Vec<&str> = enos_stacks::FILES.iter().map(|(p, _)| *p).collect();
    built_in.sort_unstable();
    assert_eq!(on_disk, built_in);
    for (path, text) in enos_stacks::FILES {
        let on_disk =
            std::fs::read_to_string(crate_dir.join(path.strip_prefix("stacks/").unwrap()));
        assert_eq!(Some(*text), on_disk.ok().as_deref(), "{path}");
    }
}
