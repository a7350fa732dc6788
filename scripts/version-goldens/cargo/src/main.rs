// Cargo's version order with the `semver` crate (Debian's librust-semver-dev). The crate's
// Ord breaks ties on build metadata; OSV's SEMVER ranges use SemVer precedence, so the
// comparison clears build metadata first.
use semver::{BuildMetadata, Version};
use std::io::BufRead;

fn precedence(mut v: Version) -> Version {
    v.build = BuildMetadata::EMPTY;
    v
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        if mode == "valid" {
            let ok = if Version::parse(&line).is_ok() { "valid" } else { "invalid" };
            println!("{}\t{}", line, ok);
            continue;
        }
        let (a, b) = line.split_once('\t').unwrap();
        let op = match (Version::parse(a), Version::parse(b)) {
            (Ok(x), Ok(y)) => match precedence(x).cmp(&precedence(y)) {
                std::cmp::Ordering::Less => "<",
                std::cmp::Ordering::Equal => "=",
                std::cmp::Ordering::Greater => ">",
            },
            _ => "!",
        };
        println!("{}\t{}\t{}", a, op, b);
    }
}
