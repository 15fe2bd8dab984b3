//! 《重要舆情摘报》: a numbered issue (期号) of items the analyst chose, each with the
//! analyst's summary (or the start of the document's own text), its source, time, level
//! and link. Issue 0 takes the number after the last saved digest.

use super::*;

pub(super) async fn build<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    r: &Reports<S>,
    inputs: &Inputs,
    issue: u32,
    chosen: &[DigestItem],
) -> Result<Report> {
    let s = r.store.as_ref();
    let issue = if issue == 0 {
        s.last_digest_issue().await?.map_or(1, |n| n + 1)
    } else {
        issue
    };
    let mut items = Vec::new();
    for (i, c) in chosen.iter().enumerate() {
        let d = document(s, &c.doc).await?;
        let mut it = item_of(
            i as u32 + 1,
            &d,
            c.summary.clone().filter(|s| !s.trim().is_empty()),
        );
        it.sentiment = sentiment_zh(d.assessment.sentiment);
        if let Some(eid) = d.event_id
            && let Some(e) = s.events_by_id(&[eid]).await?.into_iter().next()
        {
            it.level = level_label(e.level.as_ref().map(|l| l.level));
        }
        items.push(it);
    }
    let mut rep = r.report(inputs, Some(format!("第{issue}期")));
    rep.issue = Some(format!("第 {issue} 期"));
    // The inputs keep the number taken, so that rebuilding gives the same issue.
    rep.inputs["issue"] = serde_json::json!(issue);
    let negative = items
        .iter()
        .filter(|i| i.sentiment.as_deref() == Some("负面"))
        .count();
    rep.sections.push(section(
        "重要舆情",
        vec![
            para(format!(
                "本期摘报重要舆情 {} 条，其中负面 {} 条。",
                items.len(),
                negative
            )),
            Block::Figures {
                items: vec![
                    fig("issue", "期号", int(issue)),
                    fig("items", "条目数", int(items.len())),
                    fig("negative", "负面条目", int(negative)),
                ],
            },
            Block::Items { items },
        ],
    ));
    Ok(rep)
}
