//! Against the test vectors of Certificate Transparency (RFC 6962's reference leaves), which an
//! implementation written from the RFC in another language reproduces.

use super::{verify_consistency, verify_inclusion, Tree};

fn leaves() -> Vec<Vec<u8>> {
    vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        (0x60..0x70).collect(),
    ]
}

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn tree(n: usize) -> Tree {
    let mut tree = Tree::new();
    for leaf in leaves().into_iter().take(n) {
        tree.push(leaf);
    }
    tree
}

fn hexes(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn roots_match_the_reference_vectors() {
    for (n, root) in ROOTS.iter().enumerate() {
        assert_eq!(tree(n + 1).root(), *root, "{} leaves", n + 1);
    }
}

#[test]
fn inclusion_proofs_match_and_verify_and_a_changed_leaf_or_node_fails() {
    let full = tree(8);
    let path = full.inclusion(0);
    assert_eq!(
        path,
        hexes(&[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ])
    );
    assert_eq!(
        full.inclusion(5),
        hexes(&[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ])
    );
    assert_eq!(
        tree(3).inclusion(2),
        hexes(&["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"])
    );
    let leaves = leaves();
    for index in 0..8 {
        let path = full.inclusion(index);
        assert!(verify_inclusion(
            ROOTS[7],
            8,
            &leaves[index as usize],
            index,
            &path
        ));
        // Another leaf, another index, or one node changed: refused.
        assert!(!verify_inclusion(ROOTS[7], 8, b"forged", index, &path));
        assert!(!verify_inclusion(
            ROOTS[7],
            8,
            &leaves[index as usize],
            (index + 1) % 8,
            &path
        ));
        let mut bad = path.clone();
        bad[0] = "00".repeat(32);
        assert!(!verify_inclusion(
            ROOTS[7],
            8,
            &leaves[index as usize],
            index,
            &bad
        ));
    }
}

#[test]
fn consistency_proofs_match_and_verify_and_a_rewritten_history_fails() {
    let seven = tree(7);
    assert_eq!(
        seven.consistency(3),
        hexes(&[
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
        ])
    );
    let full = tree(8);
    assert_eq!(
        full.consistency(4),
        hexes(&["6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"])
    );
    for old in 1..8u64 {
        let path = full.consistency(old);
        assert!(
            verify_consistency((ROOTS[old as usize - 1], old), (ROOTS[7], 8), &path),
            "{old} → 8"
        );
        // A tree head whose history was rewritten (another root for the same size) is caught.
        assert!(!verify_consistency(
            (ROOTS[(old as usize) % 7], old),
            (ROOTS[7], 8),
            &path
        ));
    }
    assert!(verify_consistency((ROOTS[7], 8), (ROOTS[7], 8), &[]));
}
