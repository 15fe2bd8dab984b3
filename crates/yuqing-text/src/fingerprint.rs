//! Fingerprints for reprint grouping (相似文章合并): an exact content hash and a 64-bit
//! SimHash over character bigrams, compared by Hamming distance.
//!
//! SimHash is ours (a few lines, FNV-1a per token); the `simhash` crate was measured 5×
//! slower on this workload (see `docs/stack.md` in the shared docs).

use crate::ngram;
use xxhash_rust::xxh3::xxh3_64;

/// Exact-content key of normalised text within a scope (e.g. "" for global, or a root id
/// for short texts that only make sense inside one thread).
pub fn content_key(scope: &str, norm: &str) -> u64 {
    let mut buf = Vec::with_capacity(scope.len() + norm.len() + 1);
    buf.extend_from_slice(scope.as_bytes());
    buf.push(0);
    buf.extend_from_slice(norm.as_bytes());
    xxh3_64(&buf)
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// 64-bit SimHash of normalised text over its index tokens (character bigrams).
pub fn simhash(norm: &str) -> u64 {
    let mut acc = [0i32; 64];
    let mut any = false;
    ngram::for_each_gram(norm, |g| {
        any = true;
        let h = fnv1a(g.text);
        for (i, a) in acc.iter_mut().enumerate() {
            if h >> i & 1 == 1 {
                *a += 1;
            } else {
                *a -= 1;
            }
        }
    });
    if !any {
        return 0;
    }
    acc.iter()
        .enumerate()
        .fold(0u64, |h, (i, &a)| if a > 0 { h | 1 << i } else { h })
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Number of characters that count for grouping: letters, digits and ideographs.
pub fn significant_chars(norm: &str) -> usize {
    norm.chars().filter(|c| c.is_alphanumeric()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_are_close_and_different_texts_far() {
        let a = "今天下午约14点，宁波妇儿医院，一妇女携带一婴儿在住院楼跳楼，后抢救无效死亡。具体情况有关部门正在调查。";
        let b = "今天下午约14点，宁波妇儿医院，一妇女携带一婴儿在住院楼跳楼，后抢救无效死亡！具体情况有关部门正在调查";
        let c = "教育部发布通知，要求各地中小学严格落实课后服务制度，切实减轻学生课业负担，促进学生全面发展。";
        assert!(
            hamming(simhash(a), simhash(b)) <= 3,
            "{}",
            hamming(simhash(a), simhash(b))
        );
        assert!(
            hamming(simhash(a), simhash(c)) > 10,
            "{}",
            hamming(simhash(a), simhash(c))
        );
    }

    #[test]
    fn content_key_depends_on_scope() {
        assert_eq!(content_key("", "转发微博"), content_key("", "转发微博"));
        assert_ne!(content_key("a", "转发微博"), content_key("b", "转发微博"));
    }

    #[test]
    fn empty_text_has_zero_simhash() {
        assert_eq!(simhash(""), 0);
        assert_eq!(significant_chars("  ,,, "), 0);
    }
}
