//! The transparency log as a pure library: RFC 9162 (§2.1) Merkle tree
//! hashing, tree heads, inclusion and consistency proofs (generation from a
//! slice of leaf hashes, and verification).
//!
//! It owns the arithmetic only. The gateway stores the leaves (one per seal:
//! `leaf_hash(jws bytes)`) and decides when to sign a checkpoint (see
//! `note`). Proof generation here is O(n) per proof over an in-memory slice,
//! which is fine for the sizes one organ's log reaches; a tiled store can
//! replace it without changing the proofs.

use sha2::{Digest as _, Sha256};

use crate::Error;

/// A SHA-256 node hash.
pub type Hash = [u8; 32];

/// RFC 9162 leaf hash: `SHA-256(0x00 || entry)`.
///
/// ```
/// // transparency-dev/merkle testonly: the empty leaf.
/// assert_eq!(hex::encode(seal::tlog::leaf_hash(b"")),
///            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
/// ```
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// RFC 9162 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// The tree head (Merkle tree hash, MTH) over leaf hashes.
///
/// ```
/// use seal::tlog::{leaf_hash, root};
/// let leaves = [leaf_hash(b""), leaf_hash(&[0x00])];
/// assert_eq!(hex::encode(root(&leaves)),
///            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
/// ```
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The inclusion proof (audit path) of leaf `index` in the tree of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, Error> {
    let index = usize::try_from(index)
        .ok()
        .filter(|&i| i < leaves.len())
        .ok_or_else(|| Error::Proof(format!("leaf index {index} is not in a tree of size {}", leaves.len())))?;
    let mut proof = Vec::new();
    path(index, leaves, &mut proof);
    Ok(proof)
}

/// RFC 9162 §2.1.3.1 PATH(m, D[n]), appending bottom-up.
fn path(m: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if m < k {
        path(m, &leaves[..k], out);
        out.push(root(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], out);
        out.push(root(&leaves[..k]));
    }
}

/// The root that an inclusion proof leads to (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion_proof(leaf: &Hash, index: u64, size: u64, proof: &[Hash]) -> Result<Hash, Error> {
    if index >= size {
        return Err(Error::Proof(format!("leaf index {index} is not in a tree of size {size}")));
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(Error::Proof("inclusion proof is too long".into()));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(Error::Proof("inclusion proof is too short".into()));
    }
    Ok(r)
}

/// Verifies that `leaf` is at `index` in the tree of `size` with head `root`.
///
/// ```
/// use seal::tlog::*;
/// let leaves: Vec<Hash> = (0u8..5).map(|i| leaf_hash(&[i])).collect();
/// let proof = inclusion_proof(&leaves, 3).unwrap();
/// assert!(verify_inclusion(&leaves[3], 3, 5, &proof, &root(&leaves)).is_ok());
/// assert!(verify_inclusion(&leaves[3], 2, 5, &proof, &root(&leaves)).is_err());
/// ```
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), Error> {
    let got = root_from_inclusion_proof(leaf, index, size, proof)?;
    if &got != root {
        return Err(Error::Proof(format!("inclusion proof for leaf {index} of {size} leads to another root")));
    }
    Ok(())
}

/// The consistency proof from the tree's first `old_size` leaves to all of
/// `leaves` (RFC 9162 §2.1.4.1). Empty when the sizes are equal or the old
/// tree is empty.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>, Error> {
    let m = usize::try_from(old_size)
        .ok()
        .filter(|&m| m <= leaves.len())
        .ok_or_else(|| Error::Proof(format!("old size {old_size} is larger than the tree ({})", leaves.len())))?;
    let mut proof = Vec::new();
    if m > 0 && m < leaves.len() {
        subproof(m, leaves, true, &mut proof);
    }
    Ok(proof)
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[Hash], b: bool, out: &mut Vec<Hash>) {
    let n = leaves.len();
    if m == n {
        if !b {
            out.push(root(leaves));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, &leaves[..k], b, out);
        out.push(root(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(root(&leaves[..k]));
    }
}

/// Verifies that the tree of `new_size` with head `new_root` extends the
/// tree of `old_size` with head `old_root` (RFC 9162 §2.1.4.2).
///
/// ```
/// use seal::tlog::*;
/// let leaves: Vec<Hash> = (0u8..7).map(|i| leaf_hash(&[i])).collect();
/// let proof = consistency_proof(&leaves, 3).unwrap();
/// assert!(verify_consistency(3, 7, &root(&leaves[..3]), &root(&leaves), &proof).is_ok());
/// assert!(verify_consistency(3, 7, &root(&leaves[..4]), &root(&leaves), &proof).is_err());
/// ```
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    let fail = |m: &str| Err(Error::Proof(format!("consistency {old_size} → {new_size}: {m}")));
    if old_size > new_size {
        return fail("the new tree is smaller");
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return fail("equal sizes need an empty proof");
        }
        return if old_root == new_root { Ok(()) } else { fail("equal sizes but different roots") };
    }
    if old_size == 0 {
        // Every tree extends the empty one; the proof is empty by definition.
        return if proof.is_empty() { Ok(()) } else { fail("a proof from the empty tree must be empty") };
    }
    if proof.is_empty() {
        return fail("the proof is empty");
    }
    let mut path = proof;
    let seed;
    if old_size.is_power_of_two() {
        seed = *old_root;
    } else {
        seed = path[0];
        path = &path[1..];
    }
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in path {
        if sn == 0 {
            return fail("the proof is too long");
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return fail("the proof is too short");
    }
    if &fr != old_root {
        return fail("the proof does not lead to the old root");
    }
    if &sr != new_root {
        return fail("the proof does not lead to the new root");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// Leaves and roots from transparency-dev/merkle `testonly/constants.go`
    /// (the RFC 6962 vectors of certificate-transparency).
    fn reference_leaves() -> Vec<Hash> {
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
            .iter()
            .map(|x| leaf_hash(&hex::decode(x).unwrap()))
            .collect()
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

    #[test]
    fn reference_roots() {
        let leaves = reference_leaves();
        assert_eq!(hex::encode(root(&[])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        for (n, want) in ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root(&leaves[..=n])), *want, "size {}", n + 1);
        }
    }

    /// transparency-dev/merkle `proof/verify_test.go`: `inclusionProofs`
    /// (leaf numbers there are 1-based) and `consistencyProofs`.
    #[test]
    fn reference_proofs() {
        let leaves = reference_leaves();
        let inclusion: [(u64, usize, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in inclusion {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            assert_eq!(inclusion_proof(&leaves[..size], index).unwrap(), want, "inclusion {index} of {size}");
            verify_inclusion(&leaves[index as usize], index, size as u64, &want, &h(ROOTS[size - 1])).unwrap();
        }
        let consistency: [(usize, usize, &[&str]); 4] = [
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (m, n, want) in consistency {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            assert_eq!(consistency_proof(&leaves[..n], m as u64).unwrap(), want, "consistency {m} → {n}");
            verify_consistency(m as u64, n as u64, &h(ROOTS[m - 1]), &h(ROOTS[n - 1]), &want).unwrap();
        }
    }

    #[test]
    fn edge_cases() {
        let leaves = reference_leaves();
        let r1 = root(&leaves[..1]);
        assert!(verify_inclusion(&leaves[0], 0, 1, &[], &r1).is_ok());
        assert!(verify_inclusion(&leaves[0], 0, 0, &[], &r1).is_err());
        assert!(verify_inclusion(&leaves[0], 1, 1, &[], &r1).is_err());
        assert!(inclusion_proof(&leaves, 8).is_err());
        assert!(verify_consistency(0, 5, &empty_root(), &root(&leaves[..5]), &[]).is_ok());
        assert!(verify_consistency(0, 5, &empty_root(), &root(&leaves[..5]), &[r1]).is_err());
        assert!(verify_consistency(3, 3, &root(&leaves[..3]), &root(&leaves[..3]), &[]).is_ok());
        assert!(verify_consistency(3, 3, &root(&leaves[..3]), &root(&leaves[..4]), &[]).is_err());
        assert!(verify_consistency(4, 3, &root(&leaves[..4]), &root(&leaves[..3]), &[]).is_err());
        assert!(verify_consistency(1, 2, &r1, &root(&leaves[..2]), &[]).is_err());
        assert!(consistency_proof(&leaves, 9).is_err());
    }

    /// Every size 1..=64: every inclusion proof and every consistency proof
    /// round-trips, and tampered proofs are refused.
    #[test]
    fn all_sizes_round_trip_and_tampering_is_refused() {
        let all: Vec<Hash> = (0u32..64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let roots: Vec<Hash> = (0..=64).map(|n| root(&all[..n])).collect();
        let other = leaf_hash(b"not a leaf");
        for n in 1..=64usize {
            let leaves = &all[..n];
            let size = n as u64;
            for i in 0..n {
                let idx = i as u64;
                let proof = inclusion_proof(leaves, idx).unwrap();
                verify_inclusion(&leaves[i], idx, size, &proof, &roots[n]).unwrap();
                assert!(verify_inclusion(&other, idx, size, &proof, &roots[n]).is_err());
                // (size + 1 can verify by coincidence: leaf 0 of 3 has the same
                // path in a tree of 4 whose last subtree hash is leaf 2's.)
                assert!(verify_inclusion(&leaves[i], idx, size * 2, &proof, &roots[n]).is_err(), "{i} of {n}*2");
                if n > 1 {
                    assert!(verify_inclusion(&leaves[i], (idx + 1) % size, size, &proof, &roots[n]).is_err());
                }
                for j in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[j][0] ^= 1;
                    assert!(verify_inclusion(&leaves[i], idx, size, &bad, &roots[n]).is_err());
                }
                let mut longer = proof.clone();
                longer.push(other);
                assert!(verify_inclusion(&leaves[i], idx, size, &longer, &roots[n]).is_err());
                if !proof.is_empty() {
                    assert!(verify_inclusion(&leaves[i], idx, size, &proof[1..], &roots[n]).is_err());
                }
            }
            for m in 1..=n {
                let old = m as u64;
                let proof = consistency_proof(leaves, old).unwrap();
                verify_consistency(old, size, &roots[m], &roots[n], &proof).unwrap();
                assert!(verify_consistency(old, size, &other, &roots[n], &proof).is_err());
                assert!(verify_consistency(old, size, &roots[m], &other, &proof).is_err());
                for j in 0..proof.len() {
                    let mut bad = proof.clone();
                    bad[j][31] ^= 0x80;
                    assert!(verify_consistency(old, size, &roots[m], &roots[n], &bad).is_err(), "{m}->{n} [{j}]");
                }
                if !proof.is_empty() {
                    assert!(verify_consistency(old, size, &roots[m], &roots[n], &proof[..proof.len() - 1]).is_err());
                    let mut longer = proof.clone();
                    longer.push(other);
                    assert!(verify_consistency(old, size, &roots[m], &roots[n], &longer).is_err());
                }
                if m < n {
                    assert!(verify_consistency(old, size * 2, &roots[m], &roots[n], &proof).is_err());
                }
            }
        }
    }
}
