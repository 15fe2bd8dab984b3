//! People's verdicts on alerts (属实 / 误报, `HandlingStore::set_alert_verdict`) counted
//! per monitoring plan: how many alerts each plan raised, how many were judged, and how
//! many of those were false alarms — the plans to tighten first (an exclusion word, a
//! narrower subject) come first.

use serde::Serialize;
use std::collections::BTreeMap;
use yuqing_store::handling::{AlertRow, Verdict};

/// One plan's alerts and their verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanQuality {
    /// The plan's name; "" for alerts no plan raised (spikes, rules without a plan).
    pub plan: String,
    pub alerts: u32,
    pub confirmed: u32,
    pub false_alarms: u32,
    /// Alerts nobody gave a verdict on.
    pub unjudged: u32,
    /// false alarms / (confirmed + false alarms); `None` before any verdict.
    pub false_alarm_rate: Option<f64>,
}

/// Per plan, most false alarms first (then the highest rate, then the name).
pub fn plan_quality(alerts: &[AlertRow]) -> Vec<PlanQuality> {
    let mut by: BTreeMap<&str, PlanQuality> = BTreeMap::new();
    for a in alerts {
        let plan = a.plan.as_deref().unwrap_or("");
        let q = by.entry(plan).or_insert_with(|| PlanQuality {
            plan: plan.to_owned(),
            alerts: 0,
            confirmed: 0,
            false_alarms: 0,
            unjudged: 0,
            false_alarm_rate: None,
        });
        q.alerts += 1;
        match a.verdict.as_ref().map(|v| v.verdict) {
            Some(Verdict::Confirmed) => q.confirmed += 1,
            Some(Verdict::FalseAlarm) => q.false_alarms += 1,
            None => q.unjudged += 1,
        }
    }
    let mut out: Vec<PlanQuality> = by
        .into_values()
        .map(|mut q| {
            let judged = q.confirmed + q.false_alarms;
            q.false_alarm_rate =
                (judged > 0).then(|| f64::from(q.false_alarms) / f64::from(judged));
            q
        })
        .collect();
    out.sort_by(|a, b| {
        b.false_alarms
            .cmp(&a.false_alarms)
            .then(
                b.false_alarm_rate
                    .unwrap_or(0.0)
                    .total_cmp(&a.false_alarm_rate.unwrap_or(0.0)),
            )
            .then(a.plan.cmp(&b.plan))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use yuqing_store::handling::AlertVerdict;

    fn alert(id: i64, plan: Option<&str>, verdict: Option<Verdict>) -> AlertRow {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        AlertRow {
            id,
            event_id: id,
            level: 1,
            rule: "r".into(),
            plan: plan.map(str::to_owned),
            first_seq: 1,
            last_seq: 1,
            hits: 1,
            raised_at: at,
            updated_at: at,
            acked_at: None,
            acked_by: None,
            case_id: None,
            message: serde_json::Value::Null,
            verdict: verdict.map(|verdict| AlertVerdict {
                verdict,
                note: String::new(),
                by: "ana".into(),
                at,
            }),
        }
    }

    #[test]
    fn plans_with_the_most_false_alarms_come_first() {
        use Verdict::*;
        let alerts = [
            alert(1, Some("食品安全"), Some(Confirmed)),
            alert(2, Some("食品安全"), Some(FalseAlarm)),
            alert(3, Some("食品安全"), None),
            alert(4, Some("校园"), Some(FalseAlarm)),
            alert(5, Some("校园"), Some(FalseAlarm)),
            alert(6, None, None),
            alert(7, Some("交通"), Some(FalseAlarm)),
        ];
        let q = plan_quality(&alerts);
        let rows: Vec<_> = q
            .iter()
            .map(|q| {
                (
                    q.plan.as_str(),
                    q.alerts,
                    q.confirmed,
                    q.false_alarms,
                    q.unjudged,
                    q.false_alarm_rate,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("校园", 2, 0, 2, 0, Some(1.0)),
                // One false alarm each: the higher rate first.
                ("交通", 1, 0, 1, 0, Some(1.0)),
                ("食品安全", 3, 1, 1, 1, Some(0.5)),
                ("", 1, 0, 0, 1, None),
            ]
        );
        assert!(plan_quality(&[]).is_empty());
    }
}
