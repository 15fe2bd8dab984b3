//! Propagation (传播路径) of one event: the repost/comment tree under its root document, how
//! deep and wide it is, and who carried it furthest (关键传播节点).
//!
//! Real data is messy: parents that were never collected, duplicate ids, even cycles from
//! bad platform data. Nothing here recurses (a chain 100,000 deep is fine), nothing loops
//! forever, and the work is O(n):
//!
//! - a node whose parent is missing or unknown is an *orphan*: it is attached under the
//!   root at depth 1 and counted;
//! - a cycle (no path to the root) is broken at one of its nodes, which becomes an orphan;
//! - a repeated id keeps its first occurrence; the others are ignored.

use std::collections::HashMap;

use serde::Serialize;

/// One document of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node<'a> {
    pub id: &'a str,
    /// The document it reposts or comments on; `None` (other than for the root) is an
    /// orphan.
    pub parent: Option<&'a str>,
    pub author: Option<&'a str>,
    pub published_ms: Option<i64>,
}

/// A key spreader: a document with many documents below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Spreader {
    pub id: String,
    pub author: Option<String>,
    pub depth: u32,
    /// Number of documents below it in the tree.
    pub downstream: u64,
}

/// Tree metrics of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Propagation {
    /// Documents in the tree, the root included (a root missing from the input counts).
    pub nodes: u64,
    pub max_depth: u32,
    /// Documents per depth; index = depth, the root is depth 0.
    pub per_depth: Vec<u64>,
    /// The top documents by downstream (the root excluded, only those with downstream > 0),
    /// ties by id.
    pub top_spreaders: Vec<Spreader>,
    /// Documents attached under the root because their parent was unknown, plus one per
    /// broken cycle.
    pub orphans: u64,
    /// Cycles broken (also counted in `orphans`).
    pub cycles: u64,
    /// Earliest and latest `published_ms` in the tree, if any.
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

const NONE: usize = usize::MAX;

/// Metrics of the tree of `nodes` under `root_id`, with the `top_n` key spreaders. The root
/// need not be in `nodes` (then it has no author).
pub fn analyse(nodes: &[Node<'_>], root_id: &str, top_n: usize) -> Propagation {
    // Distinct nodes, first occurrence wins; the root is index 0.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len() + 1);
    let mut list: Vec<Node<'_>> = Vec::with_capacity(nodes.len() + 1);
    let root = nodes
        .iter()
        .find(|n| n.id == root_id)
        .copied()
        .unwrap_or(Node {
            id: root_id,
            parent: None,
            author: None,
            published_ms: None,
        });
    index.insert(root_id, 0);
    list.push(root);
    for n in nodes {
        if !index.contains_key(n.id) {
            index.insert(n.id, list.len());
            list.push(*n);
        }
    }
    let len = list.len();

    // Parent indices; unknown parents become orphans under the root.
    let mut orphans = 0u64;
    let mut parent = vec![NONE; len];
    for (i, n) in list.iter().enumerate().skip(1) {
        parent[i] = match n.parent.and_then(|p| index.get(p).copied()) {
            Some(p) if p != i => p,
            _ => {
                orphans += 1;
                0
            }
        };
    }

    // Children in CSR form.
    let mut child_start = vec![0usize; len + 1];
    for &p in parent.iter().skip(1) {
        child_start[p + 1] += 1;
    }
    for i in 0..len {
        child_start[i + 1] += child_start[i];
    }
    let mut fill = child_start.clone();
    let mut children = vec![0usize; len.saturating_sub(1)];
    for (i, &p) in parent.iter().enumerate().skip(1) {
        children[fill[p]] = i;
        fill[p] += 1;
    }

    // Breadth-first from the root; then break cycles among the unreached.
    let mut depth = vec![u32::MAX; len];
    let mut order: Vec<usize> = Vec::with_capacity(len);
    let bfs = |start: usize, d: u32, depth: &mut Vec<u32>, order: &mut Vec<usize>| {
        depth[start] = d;
        let mut head = order.len();
        order.push(start);
        while head < order.len() {
            let u = order[head];
            head += 1;
            for &c in &children[child_start[u]..child_start[u + 1]] {
                if depth[c] == u32::MAX {
                    depth[c] = depth[u].saturating_add(1);
                    order.push(c);
                }
            }
        }
    };
    bfs(0, 0, &mut depth, &mut order);
    let mut cycles = 0u64;
    if order.len() < len {
        // Every unreached node leads up into a cycle. Walk up from each, stamping the walk;
        // meeting the current stamp means we found the cycle: cut it there.
        let mut stamp = vec![0usize; len];
        for s in 0..len {
            if depth[s] != u32::MAX || stamp[s] != 0 {
                continue;
            }
            let mark = s + 1;
            let mut u = s;
            while depth[u] == u32::MAX && stamp[u] == 0 {
                stamp[u] = mark;
                u = parent[u];
            }
            if depth[u] == u32::MAX && stamp[u] == mark {
                parent[u] = 0;
                cycles += 1;
                orphans += 1;
                bfs(u, 1, &mut depth, &mut order);
            }
        }
    }

    // Downstream counts, leaves first.
    let mut downstream = vec![0u64; len];
    for &u in order.iter().rev().filter(|&&u| u != 0) {
        let p = parent[u];
        downstream[p] += downstream[u] + 1;
    }

    let max_depth = order.iter().map(|&u| depth[u]).max().unwrap_or(0);
    let mut per_depth = vec![0u64; max_depth as usize + 1];
    for &u in &order {
        per_depth[depth[u] as usize] += 1;
    }

    let mut ranked: Vec<usize> = (1..len).filter(|&u| downstream[u] > 0).collect();
    ranked.sort_unstable_by(|&a, &b| {
        downstream[b]
            .cmp(&downstream[a])
            .then_with(|| list[a].id.cmp(list[b].id))
    });
    let top_spreaders = ranked
        .into_iter()
        .take(top_n)
        .map(|u| Spreader {
            id: list[u].id.to_owned(),
            author: list[u].author.map(str::to_owned),
            depth: depth[u],
            downstream: downstream[u],
        })
        .collect();

    let times = list.iter().filter_map(|n| n.published_ms);
    Propagation {
        nodes: len as u64,
        max_depth,
        per_depth,
        top_spreaders,
        orphans,
        cycles,
        first_ms: times.clone().min(),
        last_ms: times.max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n<'a>(id: &'a str, parent: Option<&'a str>, author: &'a str) -> Node<'a> {
        Node {
            id,
            parent,
            author: Some(author),
            published_ms: None,
        }
    }

    #[test]
    fn small_tree() {
        // r ── a ── c ── e
        //   │    └─ d
        //   └─ b ── f
        let nodes = [
            n("r", None, "原博"),
            n("a", Some("r"), "大V"),
            n("b", Some("r"), "路人"),
            n("c", Some("a"), "转发1"),
            n("d", Some("a"), "转发2"),
            n("e", Some("c"), "转发3"),
            n("f", Some("b"), "转发4"),
        ];
        let p = analyse(&nodes, "r", 3);
        assert_eq!(p.nodes, 7);
        assert_eq!(p.max_depth, 3);
        assert_eq!(p.per_depth, [1, 2, 3, 1]);
        assert_eq!(p.orphans, 0);
        let top: Vec<(&str, u64, u32)> = p
            .top_spreaders
            .iter()
            .map(|s| (s.id.as_str(), s.downstream, s.depth))
            .collect();
        assert_eq!(top, [("a", 3, 1), ("b", 1, 2 - 1), ("c", 1, 2)]);
        assert_eq!(p.top_spreaders[0].author.as_deref(), Some("大V"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["per_depth"][1], 2);
    }

    #[test]
    fn orphans_attach_under_the_root() {
        let nodes = [
            n("a", Some("r"), "x"),
            n("b", Some("missing"), "y"),
            n("c", None, "z"),
            n("d", Some("b"), "w"),
            n("a", Some("b"), "duplicate ignored"),
        ];
        // The root itself is not in the input.
        let p = analyse(&nodes, "r", 10);
        assert_eq!(p.nodes, 5);
        assert_eq!(p.orphans, 2);
        assert_eq!(p.per_depth, [1, 3, 1]);
        assert_eq!(p.top_spreaders.len(), 1);
        assert_eq!(p.top_spreaders[0].id, "b");
    }

    #[test]
    fn cycles_are_broken_and_counted() {
        // x → y → z → x (a cycle with no way to the root), w hangs off z, s is its own parent.
        let nodes = [
            n("r", None, "root"),
            n("a", Some("r"), "a"),
            n("x", Some("z"), "x"),
            n("y", Some("x"), "y"),
            n("z", Some("y"), "z"),
            n("w", Some("z"), "w"),
            n("s", Some("s"), "s"),
        ];
        let p = analyse(&nodes, "r", 5);
        assert_eq!(p.nodes, 7);
        assert_eq!(p.cycles, 1);
        assert_eq!(p.orphans, 2); // the broken cycle and the self-parent
        assert_eq!(p.per_depth.iter().sum::<u64>(), 7);
        // The cycle is cut at x: r → x → y → z → w.
        assert_eq!(p.max_depth, 4);
        assert_eq!(p.top_spreaders[0].id, "x");
        assert_eq!(p.top_spreaders[0].downstream, 3);
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        const N: usize = 100_000;
        let ids: Vec<String> = (0..=N).map(|i| format!("n{i}")).collect();
        let mut nodes: Vec<Node> = (1..=N)
            .map(|i| Node {
                id: &ids[i],
                parent: Some(&ids[i - 1]),
                author: None,
                published_ms: Some(i as i64),
            })
            .collect();
        nodes.reverse();
        let p = analyse(&nodes, "n0", 2);
        assert_eq!(p.max_depth, N as u32);
        assert_eq!(p.per_depth.len(), N + 1);
        assert!(p.per_depth.iter().all(|&c| c == 1));
        assert_eq!(p.top_spreaders[0].id, "n1");
        assert_eq!(p.top_spreaders[0].downstream, (N - 1) as u64);
        assert_eq!((p.first_ms, p.last_ms), (Some(1), Some(N as i64)));
        // A long cycle too.
        let mut ring = nodes.clone();
        ring.push(Node {
            id: &ids[0],
            parent: Some(&ids[N]),
            author: None,
            published_ms: None,
        });
        let p = analyse(&ring, "elsewhere", 1);
        assert_eq!(p.cycles, 1);
        assert_eq!(p.max_depth, N as u32 + 1);
    }

    #[test]
    fn empty_input() {
        let p = analyse(&[], "r", 5);
        assert_eq!((p.nodes, p.max_depth, p.orphans), (1, 0, 0));
        assert_eq!(p.per_depth, [1]);
        assert!(p.top_spreaders.is_empty());
    }
}
