//! Word segmentation shared by [`crate::hotwords`] and [`crate::cluster`]: one process-wide
//! jieba segmenter (dictionary compiled into the binary, nothing loaded at run time), the
//! cleaning of Weibo/news texts before segmentation, the built-in Chinese stop words, and a
//! rough IDF taken from the jieba dictionary frequencies for when no background sample is
//! available.
//!
//! Cleaning ([`clean`]) drops the quoted repost chain (everything from the first `//@`),
//! `@mentions`, URLs, Weibo emoticon tags such as `[怒]`, digits and punctuation. Words
//! ([`words`]) are jieba words (`cut(text, false)`, no HMM for speed and stability) of at
//! least two characters that are not stop words and not numerals.

use std::collections::{HashMap, HashSet};
use std::sync::{OnceLock, RwLock};

use jieba_rs::Jieba;

/// The process-wide segmenter; built on first use (about 0.2 s), then shared.
pub fn jieba() -> &'static Jieba {
    static J: OnceLock<Jieba> = OnceLock::new();
    J.get_or_init(Jieba::new)
}

/// Sum of the frequencies of the jieba default dictionary (used by [`dict_idf`]).
const DICT_TOTAL: f64 = 60_101_964.0;

/// A rough inverse document frequency of `word` from the jieba dictionary: `ln(total/freq)`,
/// clamped to `[1, 18]`. Common words (发生, 问题) score low, rare words and words unknown
/// to the dictionary (names of people and places, new coinages) score high.
///
/// Values are cached process-wide (the lookup segments the word); the cache is emptied when
/// it reaches 200,000 words so memory stays bounded.
pub fn dict_idf(word: &str) -> f64 {
    static CACHE: OnceLock<RwLock<HashMap<String, f64>>> = OnceLock::new();
    const CACHE_MAX: usize = 200_000;
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(c) = cache.read()
        && let Some(&v) = c.get(word)
    {
        return v;
    }
    let freq = jieba().suggest_freq(word).max(1) as f64;
    let v = (DICT_TOTAL / freq).ln().clamp(1.0, 18.0);
    if let Ok(mut c) = cache.write() {
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert(word.to_owned(), v);
    }
    v
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}' | '\u{20000}'..='\u{2ebef}')
}

fn is_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

/// Cleans a normalised text for segmentation into `out` (cleared first): cuts the repost
/// chain at the first `//@`, and replaces `@mentions`, URLs, `[emoticon]` tags, digits and
/// punctuation with spaces. What remains is runs of CJK characters and ASCII letters.
pub fn clean_into(text: &str, out: &mut String) {
    out.clear();
    let text = match text.find("//@") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut rest = text;
    let mut last_space = true;
    while let Some(c) = rest.chars().next() {
        let skip = if c == '@' {
            // @name: up to 30 name characters.
            let mut n = c.len_utf8();
            for (k, d) in rest[n..].chars().enumerate() {
                if k >= 30 || !is_name_char(d) {
                    break;
                }
                n += d.len_utf8();
            }
            Some(n)
        } else if c == '[' {
            // [emoticon]: a closing ] within 10 characters and no space inside.
            let mut end = None;
            for (k, (i, d)) in rest.char_indices().skip(1).enumerate() {
                if k >= 10 || d.is_whitespace() || d == '[' {
                    break;
                }
                if d == ']' {
                    end = Some(i + 1);
                    break;
                }
            }
            Some(end.unwrap_or(1))
        } else if (c == 'h' && (rest.starts_with("http://") || rest.starts_with("https://")))
            || (c == 'w' && rest.starts_with("www."))
        {
            Some(rest.find(|d: char| !is_url_char(d)).unwrap_or(rest.len()))
        } else {
            None
        };
        match skip {
            Some(n) => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
                rest = &rest[n..];
            }
            None => {
                if is_cjk(c) || c.is_ascii_alphabetic() || (c.is_alphabetic() && !c.is_ascii()) {
                    out.push(c);
                    last_space = false;
                } else if !last_space {
                    out.push(' ');
                    last_space = true;
                }
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
}

/// [`clean_into`] returning a new string.
pub fn clean(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    clean_into(text, &mut s);
    s
}

/// Chinese numerals and counting units: a word made only of these is a number.
const NUMERAL_CHARS: &str = "零一二三四五六七八九十百千万亿两几多余半第";

/// Whether a segmented word is worth keeping: at least two characters, not a stop word,
/// not a numeral, not blank.
pub fn keep_word(w: &str) -> bool {
    let mut chars = w.chars();
    let (Some(a), Some(_)) = (chars.next(), chars.next()) else {
        return false;
    };
    if a == ' ' || w.contains(' ') {
        return false;
    }
    if w.chars().all(|c| NUMERAL_CHARS.contains(c)) {
        return false;
    }
    !is_stop_word(w)
}

/// The words of an already cleaned text (see [`clean_into`]), in order, with repeats.
pub fn words_of_clean(cleaned: &str) -> impl Iterator<Item = &str> {
    jieba()
        .cut(cleaned, false)
        .into_iter()
        .map(|t| t.word)
        .filter(|w| keep_word(w))
}

/// The words of a normalised text: [`clean`] then jieba, stop words and numerals dropped.
pub fn words(norm_text: &str) -> Vec<String> {
    let cleaned = clean(norm_text);
    words_of_clean(&cleaned).map(str::to_owned).collect()
}

/// Whether `w` is one of the built-in stop words.
pub fn is_stop_word(w: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.split_whitespace().collect())
        .contains(w)
}

/// Built-in stop words: function words, pronouns, generic verbs and adverbs, Weibo
/// boilerplate (转发微博, 网页链接 ...) and a few English ones. Single characters never count
/// as words anyway, but the common ones are listed for callers that use this list alone.
pub const STOP_WORDS: &str = "
的 了 是 我 你 他 她 它 在 也 都 就 和 与 及 或 而 被 把 让 给 对 向 从 到 为 以 于 之 其 这 那 有 没 不 很 还 又 再 才 只 个 们 吗 呢 吧 啊 呀 哦 哈 嗯 么 着 过 得 地 上 下 中 里 外 前 后 啦 哇 噢 呐 嘛 诶 哎 唉
我们 你们 他们 她们 它们 咱们 大家 自己 别人 人家 本人 我的 你的 他的 她的 这个 那个 这些 那些 这样 那样 这么 那么 这里 那里 这儿 那儿 这种 那种 这次 那次 这位 那位 这是 那是 就是 还是 不是 只是 也是 都是 但是 可是 于是 而是 或是 要是 若是 正是 真是 总是 像是 算是 便是 即是
什么 怎么 怎样 怎么样 如何 为何 为什么 哪里 哪儿 哪个 哪些 多少 几个 谁的 是否 是不是 有没有 能不能 会不会 要不要
一个 一些 一点 一下 一样 一起 一直 一定 一切 一般 一边 一旦 一方面 有些 有点 有的 有人 没有 没人 所有 任何 每个 各种 各位 各个 其他 其它 其中 其余 另外 另一 之一 之后 之前 之间 之中 以后 以前 以上 以下 以及 以来 以外 以内 以便 以免
因为 所以 因此 但是 然而 而且 并且 或者 还有 不过 虽然 尽管 即使 即便 如果 假如 要是 只要 只有 除了 除非 无论 不论 不管 既然 然后 接着 于是 此外 同时 另外 总之 例如 比如 譬如 可见 甚至 何况 况且 从而 进而 否则 不然 可能 可以 能够 应该 需要 必须 已经 曾经 正在 将要 将会 还要 还会 就要 就会 也会 都会 不会 不能 不要 不用 不必 不得 不了 不到 得到 受到 遭到 感到 看到 听到 想到 说到 做到 达到 来到 回到 直到 对于 关于 至于 由于 根据 按照 通过 经过 随着 作为 为了 除此 此前 此后 此时 此次 此事 当时 当前 目前 现在 今天 昨天 明天 今年 去年 明年 近日 日前 近期 最近 刚刚 刚才 已经 马上 立即 随后 终于 仍然 依然 还是 始终 总是 往往 常常 经常 一再 再次 多次 非常 十分 特别 极其 比较 相当 更加 越来 越是 最为 尤其 特别是 真的 确实 的确 其实 当然 果然 居然 竟然 简直 难道 究竟 到底 反正 毕竟 似乎 好像 仿佛 大概 也许 或许 可能 一样 一般 左右 上下 以上 等等 之类
说 说道 表示 认为 觉得 知道 发现 进行 开始 继续 出现 成为 属于 存在 具有 包括 来说 来看 看看 看着 一看 说是 就说 听说 据说 据悉 据了解 记者 报道 消息 获悉 介绍 称 指出 透露 强调 回应 表明 显示 相关 有关 方面 情况 问题 工作 时候 时间 地方 东西 事情 一件 这件 那件 事儿 部分 全部 整个 同样 相同 不同 一次 两次 第一 第二 首先 其次 最后 最终 结果 原因 方式 方法 过程 内容 活动 进一步 有效 重要 主要 基本 一致 具体 实际 实际上 本身 本来 原来 后来 起来 出来 进来 过来 下来 上来 回来 开来 下去 上去 出去 进去 过去 回去 起去
转发 转发微博 微博 回复 网页链接 全文 展开全文 收起全文 查看图片 图片 视频 链接 原文 评论 点击 分享 收藏 围观 博文 秒拍 秒拍视频 微博视频 的微博 超话 话题 热搜 转载 来源 编辑 责任编辑 作者 发布 发表 原标题 本文 全文如下 文章 小编 网友 网民 楼主 博主 哈哈 哈哈哈 哈哈哈哈 呵呵 嘿嘿 嘻嘻 啊啊 啊啊啊 嗯嗯 好的 谢谢 感谢 大家好 你好 您好 各位 朋友 朋友们
余名 多名 数名 多人 余人 多位 余位 多起 多辆 人次 一名 一位 一起 今日 今晚 今早 昨日 昨晚 当地 当日 人员 造成 发生 导致 出现 升至 已致 某县 某市 某地 某区 某镇 某村 某小区 某公司 某单位 某人 某某 一家 一名 一处 一座 一辆 一条 一所 一栋
the and or of to in on at for with by from is are was were be been it this that these those a an as not but if then so than too very can will just do does did has have had i you he she we they my your our their me him her us them no yes ok via http https www com cn html
";
