//! E-mail to applicants through the agency's SMTP server (`[mail]`): a
//! plain-text letter with a PDF attached. It sends what it is given and
//! says whether the server took it; `service::applications` decides what is
//! sent and records the service. Nothing here logs: a mail, its address and
//! the server's answer are personal data.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Settings, SmtpSecurity};

/// One mail to send.
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The attachment's file name and bytes (a PDF).
    pub pdf: (String, Vec<u8>),
}

/// Why a mail was not sent, in words for the office.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("未配置邮件服务（[mail] smtp），请打印答复书送达")]
    NotConfigured,
    /// The configuration or its secret is wrong (the text says how).
    #[error("{0}")]
    Setup(String),
    #[error("申请人的电子邮箱“{0}”不是有效的邮件地址")]
    BadAddress(String),
    /// The server answered with a refusal (the text is its answer).
    #[error("邮件服务器拒收：{0}")]
    Refused(String),
    /// No answer: connection, TLS or time-out.
    #[error("无法连接邮件服务器或连接中断：{0}")]
    Unreachable(String),
}

/// Whether e-mail service is configured.
pub fn configured(settings: &Settings) -> bool {
    settings.mail.smtp.is_some()
}

/// Sends `mail`; the server's message id on acceptance.
pub async fn send(settings: &Settings, mail: Outgoing) -> Result<String, MailError> {
    let target = settings.mail.target().map_err(MailError::Setup)?.ok_or(MailError::NotConfigured)?;
    let from: Mailbox = settings
        .mail
        .from
        .as_deref()
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|_| MailError::Setup("[mail] from 不是有效的发件人地址".into()))?;
    let to: Mailbox = mail.to.trim().parse().map_err(|_| MailError::BadAddress(mail.to.clone()))?;
    let builder = match target.security {
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&target.host),
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&target.host),
        SmtpSecurity::Plain => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)),
    }
    .map_err(|e| MailError::Setup(format!("邮件服务器 {} 的 TLS 设置无效：{e}", target.host)))?;
    let mut builder = builder.port(target.port).timeout(Some(Duration::from_secs(settings.mail.timeout_secs)));
    if let Some(user) = target.username {
        let name = settings.mail.password_secret.as_deref().ok_or_else(|| {
            MailError::Setup("[mail] smtp 含用户名，但未设置 password_secret（密码所在的密钥名）".into())
        })?;
        let password = crate::delivery::connector::read_secret(settings, name).map_err(MailError::Setup)?;
        builder = builder.credentials(Credentials::new(user, password));
    }
    let id = format!("<reply.{}@{}>", uuid::Uuid::new_v4().simple(), from.email.domain());
    let (file_name, pdf) = mail.pdf;
    let message =
        Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject)
            .message_id(Some(id.clone()))
            .multipart(MultiPart::mixed().singlepart(SinglePart::plain(mail.text)).singlepart(
                Attachment::new(file_name).body(pdf, ContentType::parse("application/pdf").expect("valid")),
            ))
            .map_err(|e| MailError::Setup(format!("无法组成邮件：{e}")))?;
    match builder.build().send(message).await {
        Ok(_) => Ok(id),
        Err(e) if e.is_permanent() || e.is_transient() => Err(MailError::Refused(e.to_string())),
        Err(e) => Err(MailError::Unreachable(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{MailSettings, SmtpSecurity, SmtpTarget};

    fn target(url: &str) -> Result<Option<SmtpTarget>, String> {
        MailSettings { smtp: Some(url.into()), ..MailSettings::default() }.target()
    }

    #[test]
    fn plain_smtp_only_to_a_loopback_relay() {
        let t = target("smtp://mail.example.gov.cn").unwrap().unwrap();
        assert_eq!((t.security, t.port), (SmtpSecurity::StartTls, 587), "STARTTLS is required off the host");
        let t = target("smtp://127.0.0.1:2525").unwrap().unwrap();
        assert_eq!((t.security, t.port), (SmtpSecurity::Plain, 2525));
        assert_eq!(target("smtp://[::1]").unwrap().unwrap().security, SmtpSecurity::Plain);
        let t = target("smtps://gongkai%40example.gov.cn@mail.example.gov.cn").unwrap().unwrap();
        assert_eq!(t.security, SmtpSecurity::Tls);
        assert_eq!(t.port, 465);
        assert_eq!(t.username.as_deref(), Some("gongkai@example.gov.cn"));
        assert_eq!(MailSettings::default().target(), Ok(None));
        for bad in ["http://mail.example.gov.cn", "smtp://u:secret@mail.example.gov.cn", "smtp://mail/x", "smtps://"] {
            assert!(target(bad).is_err(), "{bad}");
        }
    }
}
