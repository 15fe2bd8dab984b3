//! Evidence files over HTTP through a real `yuqing serve`: upload to a case, download as an
//! attachment (never rendered by the browser), refused outside the viewer's units.

mod common;

use serde_json::{Value, json};

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_upload_and_download() {
    let tmp = tempfile::tempdir().expect("tmp");
    let srv = common::serve(tmp.path(), "[server]\npush_tokens = [\"t0ken\"]\n");
    let base = srv.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let org = json!({
        "units": [{"id": "town", "name": "某镇", "kind": "organisation"},
                  {"id": "other", "name": "另一镇", "kind": "organisation"}],
        "users": [{"id": "analyst", "name": "监测员", "grants": [{"unit": "town", "role": "analyst"}]},
                  {"id": "stranger", "name": "外单位", "grants": [{"unit": "other", "role": "analyst"}]}]
    });
    let r = c
        .put(format!("{base}/api/v1/org"))
        .bearer_auth("t0ken")
        // The administrator serve created on its first start (docs/security.md).
        .header("X-Yuqing-User", "admin")
        .json(&org)
        .send()
        .await
        .expect("org");
    assert_eq!(r.status().as_u16(), 200);
    let case: Value = c
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth("t0ken")
        .header("X-Yuqing-User", "analyst")
        .json(
            &json!({"unit": "town", "source": {"type": "manual", "channel": "hotline"},
                      "title": "热线：路灯不亮"}),
        )
        .send()
        .await
        .expect("case")
        .json()
        .await
        .expect("json");
    let id = case["id"].as_str().expect("id").to_owned();
    let version = case["version"].as_u64().expect("version");

    let html = "<html><script>alert(1)</script></html>";
    let r = c
        .post(format!(
            "{base}/api/v1/cases/{id}/attachments?name=%E6%88%AA%E5%9B%BE.html&expected_version={version}"
        ))
        .bearer_auth("t0ken")
        .header("X-Yuqing-User", "analyst")
        .body(html)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 200);
    let case: Value = r.json().await.expect("json");
    let file = &case["attachments"][0]["file"];
    assert_eq!(file["name"], "截图.html");
    assert_eq!(file["kind"], "text");
    let sha = file["sha256"].as_str().expect("sha").to_owned();

    let r = c
        .get(format!("{base}/api/v1/cases/{id}/attachments/{sha}"))
        .bearer_auth("t0ken")
        .header("X-Yuqing-User", "analyst")
        .send()
        .await
        .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment; filename*=UTF-8''%E6%88%AA"),
        "{:?}",
        h["content-disposition"]
    );
    assert_eq!(r.text().await.expect("body"), html);

    let r = c
        .get(format!("{base}/api/v1/cases/{id}/attachments/{sha}"))
        .bearer_auth("t0ken")
        .header("X-Yuqing-User", "stranger")
        .send()
        .await
        .expect("download");
    assert_eq!(r.status().as_u16(), 403, "outside the viewer's units");
    drop(srv);
}
