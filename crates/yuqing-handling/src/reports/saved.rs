//! The reports made: build and save ([`Reports::make`]), read, list, rebuild from the saved
//! inputs ([`Reports::rebuild`]), and the analyst's commentary edits ([`Reports::edit`]).
//! A saved report keeps its model, so exporting it later renders exactly what was made; a
//! commentary edit changes only the commentary (the figures stay those that were sent), and
//! a rebuild sees the cases its maker sees, whoever asks for it. Each report records the
//! unit whose office made it (`None`: the whole organisation's); who may read it is the
//! API's rule (`yuqing-web`, `api/reports.rs`).

use super::*;
use std::collections::BTreeMap;
use yuqing_store::reports::{NewReport, SavedReport};

/// How many times a digest asking for the next 期号 is built again when others take
/// the number first.
const DIGEST_TRIES: usize = 8;

impl<S: Store + HandlingStore + ReportStore + Send + Sync + 'static> Reports<S> {
    /// Builds the report as `viewer` sees it and saves it with its inputs, as made by `by`
    /// for `unit`'s office (`None`: the whole organisation).
    pub async fn make(
        &self,
        inputs: &Inputs,
        viewer: &Principal,
        by: &str,
        unit: Option<String>,
    ) -> Result<SavedReport> {
        self.make_keyed(inputs, viewer, by, unit, None)
            .await?
            .ok_or_else(|| HandlingError::conflict("报告已生成", "the report was already made"))
    }

    /// [`Reports::make`] with a schedule key: `None` when that key was already made.
    ///
    /// A digest's 期号 is taken once: one asking for the next number (`issue` 0) is built
    /// again with the number after when another digest took it meanwhile; one asking for a
    /// number a saved digest has is refused (conflict), with how to go on.
    pub async fn make_keyed(
        &self,
        inputs: &Inputs,
        viewer: &Principal,
        by: &str,
        unit: Option<String>,
        key: Option<String>,
    ) -> Result<Option<SavedReport>> {
        let next = matches!(inputs.spec, Spec::Digest { issue: 0, .. });
        for _ in 0..DIGEST_TRIES {
            let report = self.build(inputs, viewer).await?;
            // A digest's inputs carry the 期号 it took (issue 0 means "the next one").
            let issue = (report.kind == yuqing_report::Kind::Digest)
                .then(|| report.inputs["issue"].as_i64())
                .flatten();
            let new = NewReport {
                kind: report.kind.as_str().into(),
                title: report.title.clone(),
                subtitle: report.subtitle.clone(),
                issue,
                inputs: report.inputs.clone(),
                model: serde_json::to_value(&report).unwrap_or_default(),
                created_at: self.now(),
                created_by: by.into(),
                unit: unit.clone(),
                schedule_key: key.clone(),
            };
            match (self.store.put_report(&new).await?, issue) {
                (Some(saved), _) => return Ok(Some(saved)),
                (None, None) => return Ok(None),
                (None, Some(_)) if next => continue,
                (None, Some(n)) => {
                    return Err(HandlingError::conflict(
                        format!(
                            "第 {n} 期摘报已存在：新的一期请不填期号（自动取下一期）；要修改第 {n} 期，请编辑或重新生成那份报告"
                        ),
                        format!(
                            "digest issue {n} already exists: leave the issue out for the next number; to change issue {n}, edit or rebuild that report"
                        ),
                    ));
                }
            }
        }
        Err(HandlingError::conflict(
            "其他摘报正在同时生成，未能取得期号，请稍后重试",
            "other digests were being made at the same moment and no issue number could be taken; try again",
        ))
    }

    /// A saved report.
    pub async fn saved(&self, id: i64) -> Result<SavedReport> {
        self.store.report(id).await?.ok_or_else(|| {
            HandlingError::not_found(
                format!("没有编号为 {id} 的报告"),
                format!("no report with id {id}"),
            )
        })
    }

    /// The saved report's model.
    pub async fn saved_model(&self, id: i64) -> Result<Report> {
        let s = self.saved(id).await?;
        serde_json::from_value(s.model).map_err(|e| {
            HandlingError::invalid(
                format!("报告 {id} 的存档无法读取：{e}；可用 rebuild 按原参数重新生成"),
                format!("report {id} cannot be read: {e}; rebuild it from its inputs"),
            )
        })
    }

    pub async fn list(
        &self,
        kind: Option<yuqing_report::Kind>,
        limit: i64,
    ) -> Result<Vec<SavedReport>> {
        Ok(self.store.reports(kind.map(|k| k.as_str()), limit).await?)
    }

    /// Builds the saved report again from its inputs over today's data, as its maker sees
    /// it, and saves the result.
    pub async fn rebuild(&self, id: i64) -> Result<SavedReport> {
        let s = self.saved(id).await?;
        let viewer = maker(&s.created_by);
        let inputs = Inputs::from_json(s.inputs)?;
        self.save_over(id, &inputs, &viewer).await
    }

    /// Sets the analyst's commentary (by block key; an empty text returns a block to its
    /// computed draft). Only the commentary changes: the figures stay those of the report
    /// as it was made (a rebuild later keeps the commentary).
    pub async fn edit(&self, id: i64, commentary: BTreeMap<String, String>) -> Result<SavedReport> {
        let s = self.saved(id).await?;
        let mut inputs = Inputs::from_json(s.inputs)?;
        let mut model: Report = serde_json::from_value(s.model).map_err(|e| {
            HandlingError::invalid(
                format!("报告 {id} 的存档无法读取：{e}；可用 rebuild 按原参数重新生成"),
                format!("report {id} cannot be read: {e}; rebuild it from its inputs"),
            )
        })?;
        let keys: Vec<String> = model
            .blocks()
            .filter_map(|b| match b {
                Block::Draft { key, .. } => Some(key.clone()),
                _ => None,
            })
            .collect();
        for k in commentary.keys() {
            if !keys.contains(k) {
                return Err(HandlingError::invalid(
                    format!(
                        "报告 {id} 没有名为 {k:?} 的点评段落（可用：{}）",
                        keys.join("、")
                    ),
                    format!(
                        "report {id} has no commentary block {k:?} (it has: {})",
                        keys.join(", ")
                    ),
                ));
            }
        }
        for sec in &mut model.sections {
            for b in &mut sec.blocks {
                if let Block::Draft {
                    key,
                    text,
                    edited,
                    computed,
                } = b
                    && let Some(v) = commentary.get(key.as_str())
                {
                    if v.trim().is_empty() {
                        inputs.commentary.remove(key.as_str());
                        *text = computed.clone();
                        *edited = false;
                    } else {
                        inputs.commentary.insert(key.clone(), v.clone());
                        *text = v.clone();
                        *edited = true;
                    }
                }
            }
        }
        let inputs_json = serde_json::to_value(&inputs).unwrap_or_default();
        model.inputs = inputs_json.clone();
        let model = serde_json::to_value(&model).unwrap_or_default();
        self.store
            .update_report(id, &inputs_json, &model, self.now())
            .await?
            .ok_or_else(|| {
                HandlingError::not_found(
                    format!("没有编号为 {id} 的报告"),
                    format!("no report with id {id}"),
                )
            })
    }

    async fn save_over(&self, id: i64, inputs: &Inputs, viewer: &Principal) -> Result<SavedReport> {
        let report = self.build(inputs, viewer).await?;
        let model = serde_json::to_value(&report).unwrap_or_default();
        self.store
            .update_report(
                id,
                &serde_json::to_value(inputs).unwrap_or_default(),
                &model,
                self.now(),
            )
            .await?
            .ok_or_else(|| {
                HandlingError::not_found(
                    format!("没有编号为 {id} 的报告"),
                    format!("no report with id {id}"),
                )
            })
    }
}

/// Who a saved report was made as: a user, or the operator (CLI) and the schedule.
fn maker(created_by: &str) -> Principal {
    match created_by {
        "operator" | "system" => Principal::Operator,
        u => Principal::user(u),
    }
}
