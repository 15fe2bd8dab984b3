//! What the event page shows beyond the analysis (`GET /api/v1/events/{id}`): the event's
//! documents, paged, and its propagation tree cut to a readable size.
//!
//! - `GET /api/v1/events/{id}/documents?offset&limit` → `{"total", "offset", "documents":
//!   [{seq, platform, id, url, kind, parent_id, title, text, published_at, author,
//!   verified, site, group_id, sentiment, comments, reposts, views}]}`, by publication time
//!   (documents without a time last), at most [`DOCS_MAX`] a page.
//! - `GET /api/v1/events/{id}/tree?max` → `{"nodes", "shown", "max_depth", "tree"}`: the
//!   repost/comment tree from the event's root (as the analysis builds it: unknown parents
//!   hang under the root, cycles are cut), `tree` a nested `{name, id, author, depth,
//!   downstream, published_at, text, children}` of at most `max` nodes (default
//!   [`TREE_DEFAULT`], at most [`TREE_MAX`]), chosen best-first by how many documents are
//!   below a node; the children left out of a shown node are one `{"more": n,
//!   "downstream"}` leaf.
//!
//! Both need a logged-in user or a token.

use super::AppState;
use crate::auth;
use crate::error::ApiError;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use yuqing_core::Code;
use yuqing_store::{EventMember, HandlingStore, Store};

/// Documents per page by default and at most.
const DOCS_PAGE: usize = 20;
pub const DOCS_MAX: usize = 200;
/// Tree nodes shown by default and at most.
const TREE_DEFAULT: usize = 120;
pub const TREE_MAX: usize = 500;
/// Characters of a tree node's text.
const NODE_TEXT: usize = 60;

fn event_id(p: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    p.map(|Path(id)| id).map_err(|e| {
        let detail = e.body_text();
        ApiError::invalid(
            format!("事件编号应为整数：{detail}"),
            format!("the event id must be an integer: {detail}"),
        )
    })
}

fn bad_query(e: QueryRejection) -> ApiError {
    let detail = e.body_text();
    ApiError::invalid(
        format!("查询参数有误：{detail}"),
        format!("invalid query parameters: {detail}"),
    )
}

fn no_event(id: i64) -> ApiError {
    ApiError::new(
        Code::NotFound,
        format!("没有编号为 {id} 的事件"),
        format!("no event with id {id}"),
    )
}

fn bj(ms: Option<i64>) -> Option<DateTime<FixedOffset>> {
    ms.and_then(DateTime::from_timestamp_millis)
        .map(|t| t.with_timezone(&yuqing_core::document::beijing()))
}

async fn members<S: Store + HandlingStore>(
    st: &AppState<S>,
    headers: &HeaderMap,
    id: i64,
) -> Result<(String, Vec<EventMember>), ApiError> {
    let who = auth::resolve(st, headers).await?;
    auth::require_changed(&who)?;
    let Some(e) = st.store.events_by_id(&[id]).await?.into_iter().next() else {
        return Err(no_event(id));
    };
    Ok((e.root_id, st.store.event_members(id).await?))
}

/// Query of `GET /api/v1/events/{id}/documents`.
#[derive(Debug, Deserialize)]
pub struct DocsParams {
    offset: Option<usize>,
    limit: Option<usize>,
}

/// `GET /api/v1/events/{id}/documents`.
pub async fn documents<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
    q: Result<Query<DocsParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = event_id(id)?;
    let Query(p) = q.map_err(bad_query)?;
    let (_, mut list) = members(&st, &headers, id).await?;
    list.sort_by_key(|m| (m.published_ms.unwrap_or(i64::MAX), m.seq));
    let total = list.len();
    let offset = p.offset.unwrap_or(0).min(total);
    let limit = p.limit.unwrap_or(DOCS_PAGE).clamp(1, DOCS_MAX);
    let page = &list[offset..(offset + limit).min(total)];
    // The full documents for their URLs (members carry no URL).
    let seqs: Vec<i64> = page.iter().map(|m| m.seq).collect();
    let urls: HashMap<i64, Option<String>> = st
        .store
        .by_seqs(&seqs)
        .await?
        .into_iter()
        .map(|d| (d.seq, d.doc.url))
        .collect();
    let documents: Vec<Value> = page
        .iter()
        .map(|m| {
            json!({
                "seq": m.seq,
                "platform": m.platform,
                "id": m.id,
                "url": urls.get(&m.seq).cloned().flatten(),
                "kind": m.kind,
                "parent_id": m.parent_id,
                "title": m.title,
                "text": m.text,
                "published_at": bj(m.published_ms),
                "author": m.author_name.as_deref().or(m.author_id.as_deref()),
                "verified": m.verified,
                "site": m.site,
                "group_id": m.group_id,
                "sentiment": m.sentiment,
                "comments": m.comments,
                "reposts": m.reposts,
                "views": m.views,
            })
        })
        .collect();
    Ok(Json(
        json!({ "total": total, "offset": offset, "documents": documents }),
    ))
}

/// Query of `GET /api/v1/events/{id}/tree`.
#[derive(Debug, Deserialize)]
pub struct TreeParams {
    max: Option<usize>,
}

/// `GET /api/v1/events/{id}/tree`.
pub async fn tree<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
    q: Result<Query<TreeParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = event_id(id)?;
    let Query(p) = q.map_err(bad_query)?;
    let (root, list) = members(&st, &headers, id).await?;
    let max = p.max.unwrap_or(TREE_DEFAULT).clamp(1, TREE_MAX);
    Ok(Json(tokio::task::block_in_place(|| {
        build_tree(&list, &root, max)
    })))
}

const NONE: usize = usize::MAX;

/// The bounded tree (see the module docs).
fn build_tree(members: &[EventMember], root_id: &str, max: usize) -> Value {
    // Distinct nodes; the root is index 0 (it may be missing from the members).
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(members.len() + 1);
    let mut list: Vec<Option<&EventMember>> = vec![members.iter().find(|m| m.id == root_id)];
    index.insert(root_id, 0);
    for m in members {
        if !index.contains_key(m.id.as_str()) {
            index.insert(m.id.as_str(), list.len());
            list.push(Some(m));
        }
    }
    let len = list.len();
    let mut parent = vec![NONE; len];
    for (i, m) in list.iter().enumerate().skip(1) {
        parent[i] = match m
            .and_then(|m| m.parent_id.as_deref())
            .and_then(|p| index.get(p).copied())
        {
            Some(p) if p != i => p,
            _ => 0,
        };
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); len];
    for (i, &p) in parent.iter().enumerate().skip(1) {
        children[p].push(i);
    }
    // Breadth-first from the root; nodes caught in a cycle are hung under the root.
    let mut depth = vec![u32::MAX; len];
    let mut order = Vec::with_capacity(len);
    let bfs = |start: usize, d: u32, depth: &mut Vec<u32>, order: &mut Vec<usize>| {
        depth[start] = d;
        let mut head = order.len();
        order.push(start);
        while head < order.len() {
            let u = order[head];
            head += 1;
            for &c in &children[u] {
                if depth[c] == u32::MAX {
                    depth[c] = depth[u].saturating_add(1);
                    order.push(c);
                }
            }
        }
    };
    bfs(0, 0, &mut depth, &mut order);
    for s in 1..len {
        if depth[s] == u32::MAX {
            // Cut the cycle above `s`: what it reaches keeps its parents.
            parent[s] = 0;
            bfs(s, 1, &mut depth, &mut order);
        }
    }
    // Children as the final parents say.
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); len];
    for &u in order.iter().skip(1) {
        kids[parent[u]].push(u);
    }
    let mut downstream = vec![0u64; len];
    for &u in order.iter().rev().filter(|&&u| u != 0) {
        downstream[parent[u]] += downstream[u] + 1;
    }
    let max_depth = order.iter().map(|&u| depth[u]).max().unwrap_or(0);
    // Best first: the node with most documents below it, among those whose parent is shown.
    let mut shown = vec![false; len];
    let mut heap: BinaryHeap<(u64, std::cmp::Reverse<usize>)> = BinaryHeap::new();
    heap.push((downstream[0], std::cmp::Reverse(0)));
    let mut count = 0;
    while let Some((_, std::cmp::Reverse(u))) = heap.pop() {
        if count == max {
            break;
        }
        shown[u] = true;
        count += 1;
        for &c in &kids[u] {
            heap.push((downstream[c], std::cmp::Reverse(c)));
        }
    }
    let node = |u: usize| -> Value {
        let m = list[u];
        let author = m.and_then(|m| m.author_name.as_deref().or(m.author_id.as_deref()));
        let id = m.map_or(root_id, |m| m.id.as_str());
        let text: Option<String> = m.map(|m| {
            let t = if m.text.trim().is_empty() {
                m.title.as_deref().unwrap_or("")
            } else {
                &m.text
            };
            t.chars().take(NODE_TEXT).collect()
        });
        json!({
            "name": author.unwrap_or(id),
            "id": id,
            "author": author,
            "platform": m.map(|m| m.platform.as_str()),
            "kind": m.map(|m| m.kind.as_str()),
            "depth": depth[u],
            "downstream": downstream[u],
            "published_at": bj(m.and_then(|m| m.published_ms)),
            "text": text,
            "verified": m.is_some_and(|m| m.verified),
        })
    };
    // Nested values, built bottom-up (no recursion).
    let mut built: Vec<Option<Value>> = vec![None; len];
    for &u in order.iter().rev() {
        if !shown[u] {
            continue;
        }
        let mut v = node(u);
        let mut ch: Vec<(u64, usize, Value)> = Vec::new();
        let (mut more, mut more_down) = (0u64, 0u64);
        for &c in &kids[u] {
            match built[c].take() {
                Some(cv) => ch.push((downstream[c], c, cv)),
                None => {
                    more += 1;
                    more_down += downstream[c] + 1;
                }
            }
        }
        ch.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut children: Vec<Value> = ch.into_iter().map(|(_, _, v)| v).collect();
        if more > 0 {
            children.push(json!({ "more": more, "downstream": more_down }));
        }
        v["children"] = Value::Array(children);
        built[u] = Some(v);
    }
    json!({
        "nodes": len,
        "shown": count,
        "max_depth": max_depth,
        "tree": built[0].take(),
    })
}
