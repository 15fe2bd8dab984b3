//! [`BusError`]: what can go wrong on the bus, each variant saying what failed, where and
//! how to fix it (Chinese / English), with the stable [`Code`] the API layer maps.

use yuqing_core::Code;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error(
        "无法连接 NATS 服务器 {url}：{source}。请确认 nats-server 已启动并开启 JetStream（`nats-server -js`），地址和端口正确 / cannot connect to the NATS server {url}: {source}; check that nats-server is running with JetStream enabled (`nats-server -js`) and that the host and port are right"
    )]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
    #[error(
        "NATS 服务器 {url} 未开启 JetStream 或 JetStream 不可用：{reason}。请以 `nats-server -js` 启动，或在配置中加入 `jetstream {{}}` / JetStream is not enabled or not available on the NATS server {url}: {reason}; start it with `nats-server -js` or add `jetstream {{}}` to its configuration"
    )]
    NoJetStream { url: String, reason: String },
    #[error(
        "无法创建或更新 JetStream 流 {stream}：{reason}。若已有同名流的配置不兼容（如存储类型不同），请用 `nats stream info {stream}` 查看后删除或改名 / cannot create or update the JetStream stream {stream}: {reason}; if a stream of that name exists with an incompatible configuration (e.g. another storage type), inspect it with `nats stream info {stream}` and delete or rename it"
    )]
    Stream { stream: String, reason: String },
    #[error(
        "无法创建消费者 {consumer}（流 {stream}）：{reason}。请先调用 ensure_stream 创建流，并确认同名持久消费者的配置兼容 / cannot create the consumer {consumer} on stream {stream}: {reason}; create the stream first (ensure_stream) and check that a durable consumer of that name has a compatible configuration"
    )]
    Consumer {
        stream: String,
        consumer: String,
        reason: String,
    },
    #[error(
        "文档没有身份（平台 {platform}：既无 id 也无 url），无法发布 / the document has no identity (platform {platform}: neither id nor url) and cannot be published"
    )]
    NoIdentity { platform: String },
    #[error(
        "文档 {msg_id} 过大（{bytes} 字节），超过 NATS 的单条消息上限；请调大服务器的 max_payload 或缩短正文 / document {msg_id} is too large ({bytes} bytes) for the NATS message limit; raise the server's max_payload or shorten the text"
    )]
    TooLarge { msg_id: String, bytes: usize },
    #[error(
        "发布到 {subject} 失败：{reason}。请确认 NATS 可达且流已创建（ensure_stream） / publishing to {subject} failed: {reason}; check that NATS is reachable and the stream exists (ensure_stream)"
    )]
    Publish { subject: String, reason: String },
    #[error(
        "从消费者 {consumer} 拉取消息失败：{reason} / fetching from the consumer {consumer} failed: {reason}"
    )]
    Fetch { consumer: String, reason: String },
    #[error("确认消息失败：{reason} / acknowledging messages failed: {reason}")]
    Ack { reason: String },
    #[error("文档无法编码为 JSON：{0} / the document cannot be encoded as JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

impl BusError {
    pub fn code(&self) -> Code {
        match self {
            BusError::Connect { .. }
            | BusError::NoJetStream { .. }
            | BusError::Publish { .. }
            | BusError::Fetch { .. }
            | BusError::Ack { .. } => Code::Unavailable,
            BusError::NoIdentity { .. } | BusError::TooLarge { .. } => Code::InvalidInput,
            BusError::Stream { .. } | BusError::Consumer { .. } => Code::Conflict,
            BusError::Encode(_) => Code::Internal,
        }
    }
}
