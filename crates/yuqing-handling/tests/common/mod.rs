//! What the handling tests share: a minimal SMTP server on 127.0.0.1.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A minimal SMTP sink: accepts every mail and keeps its DATA.
pub async fn smtp_sink(listener: TcpListener, mails: Arc<Mutex<Vec<String>>>) {
    while let Ok((sock, _)) = listener.accept().await {
        let mails = mails.clone();
        tokio::spawn(async move {
            let (r, mut w) = sock.into_split();
            let mut r = BufReader::new(r);
            let _ = w.write_all(b"220 sink ESMTP\r\n").await;
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let up = line.trim_end().to_ascii_uppercase();
                let reply: &[u8] = if up.starts_with("EHLO") || up.starts_with("HELO") {
                    b"250-sink\r\n250 SMTPUTF8\r\n"
                } else if up == "DATA" {
                    let _ = w.write_all(b"354 go\r\n").await;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == ".\r\n" {
                            break;
                        }
                        data.push_str(&line);
                    }
                    mails.lock().expect("lock").push(data);
                    b"250 queued\r\n"
                } else if up == "QUIT" {
                    let _ = w.write_all(b"221 bye\r\n").await;
                    return;
                } else {
                    b"250 OK\r\n"
                };
                let _ = w.write_all(reply).await;
            }
        });
    }
}
