//! Traditional → simplified Chinese, character by character, from OpenCC's
//! `TSCharacters.txt` (vendored in `data/`, Apache-2.0, see the header of
//! that file).
//!
//! Character-level only, so that every simplified character maps to exactly
//! one original character and offsets stay exact. OpenCC's phrase tables are
//! not used. Where OpenCC lists the character itself among its simplified
//! candidates (`乾 → 干 乾`, `藉 → 藉 借`) the character is also a normal
//! simplified character, and it is left alone: converting it would turn
//! ordinary simplified text (乾隆, 慰藉) into something it is not.

use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/TSCharacters.txt");

/// Ambiguous entries converted anyway, because in administrative text the
/// traditional reading is the only one that occurs (`祕密` is `秘密`).
const OVERRIDES: &[(char, char)] = &[('祕', '秘')];

fn table() -> &'static [(char, char)] {
    static PAIRS: OnceLock<Vec<(char, char)>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        let mut pairs: Vec<(char, char)> = TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|line| {
                let (key, values) = line.split_once('\t')?;
                let mut key_chars = key.chars();
                let k = key_chars.next()?;
                if key_chars.next().is_some() {
                    return None;
                }
                let candidates: Vec<char> = values
                    .split(' ')
                    .filter_map(|v| {
                        let mut it = v.chars();
                        let c = it.next()?;
                        it.next().is_none().then_some(c)
                    })
                    .collect();
                let first = *candidates.first()?;
                (first != k && !candidates.contains(&k)).then_some((k, first))
            })
            .collect();
        pairs.extend_from_slice(OVERRIDES);
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        pairs
    })
}

/// First code point covered by the quick-reject bitmap.
const BITMAP_BASE: u32 = 0x3400;
/// One past the last code point covered by the bitmap.
const BITMAP_END: u32 = 0xA000;

/// One bit per code point in `BITMAP_BASE..BITMAP_END`: set when the table
/// has an entry, so most characters skip the binary search.
pub(crate) fn bitmap() -> &'static [u64] {
    static BITS: OnceLock<Vec<u64>> = OnceLock::new();
    BITS.get_or_init(|| {
        let mut bits = vec![0u64; ((BITMAP_END - BITMAP_BASE) as usize).div_ceil(64)];
        for (k, _) in table() {
            let cp = *k as u32;
            if (BITMAP_BASE..BITMAP_END).contains(&cp) {
                let i = (cp - BITMAP_BASE) as usize;
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    })
}

/// True when the table converts code point `cp`, a unified Han character (in
/// `BITMAP_BASE..BITMAP_END`), with `bits` from [`bitmap`].
#[inline(always)]
pub(crate) fn listed_cp(bits: &[u64], cp: u32) -> bool {
    let i = (cp - BITMAP_BASE) as usize;
    bits[i / 64] & (1 << (i % 64)) != 0
}

/// The simplified form of `c`, or `c` itself.
pub fn to_simplified(c: char) -> char {
    let cp = c as u32;
    if cp < BITMAP_BASE {
        return c;
    }
    if cp < BITMAP_END {
        let i = (cp - BITMAP_BASE) as usize;
        if bitmap()[i / 64] & (1 << (i % 64)) == 0 {
            return c;
        }
    }
    let t = table();
    match t.binary_search_by_key(&c, |p| p.0) {
        Ok(i) => t[i].1,
        Err(_) => c,
    }
}

#[cfg(test)]
mod tests {
    use super::to_simplified;

    #[test]
    fn converts_common_traditional() {
        let conv = |s: &str| s.chars().map(to_simplified).collect::<String>();
        assert_eq!(conv("關係戶"), "关系户");
        assert_eq!(conv("機密絕密"), "机密绝密");
        assert_eq!(conv("維穩黑名單"), "维稳黑名单");
        assert_eq!(conv("政務公開條例"), "政务公开条例");
        assert_eq!(conv("鬥爭與發展"), "斗争与发展");
        assert_eq!(conv("祕密"), "秘密");
    }

    #[test]
    fn leaves_simplified_and_ambiguous_alone() {
        let conv = |s: &str| s.chars().map(to_simplified).collect::<String>();
        assert_eq!(conv("关系户 乾隆 慰藉 著作"), "关系户 乾隆 慰藉 著作");
        assert!(super::table().len() > 3000);
    }
}
