//! The edge between the gateway's review types and the contract's generated
//! host bindings: the item lowered into a plugin (with the findings of the
//! plugins before it), and the two enums, which the bindings generate in the
//! WIT's order (`plugin-api` checks that order against the WIT).

use super::bindings;
use crate::finding::{Field, Finding, ReviewItem, Severity};

/// The contract's item as the host lowers it into a plugin.
pub(crate) use bindings::Item as WitItem;

impl From<bindings::Severity> for Severity {
    fn from(s: bindings::Severity) -> Severity {
        match s {
            bindings::Severity::Info => Severity::Info,
            bindings::Severity::Warn => Severity::Warn,
            bindings::Severity::Block => Severity::Block,
        }
    }
}

impl From<Severity> for bindings::Severity {
    fn from(s: Severity) -> bindings::Severity {
        match s {
            Severity::Info => bindings::Severity::Info,
            Severity::Warn => bindings::Severity::Warn,
            Severity::Block => bindings::Severity::Block,
        }
    }
}

impl From<bindings::Field> for Field {
    fn from(f: bindings::Field) -> Field {
        use bindings::Field as F;
        match f {
            F::Title => Field::Title,
            F::Body => Field::Body,
            F::DocNumber => Field::DocNumber,
            F::Issuer => Field::Issuer,
            F::Attribute => Field::Attribute,
            F::AttributeReason => Field::AttributeReason,
            F::LegalBasis => Field::LegalBasis,
            F::Superior => Field::Superior,
            F::Channels => Field::Channels,
            F::Signoff => Field::Signoff,
            F::Attachment => Field::Attachment,
        }
    }
}

impl From<Field> for bindings::Field {
    fn from(f: Field) -> bindings::Field {
        use bindings::Field as F;
        match f {
            Field::Title => F::Title,
            Field::Body => F::Body,
            Field::DocNumber => F::DocNumber,
            Field::Issuer => F::Issuer,
            Field::Attribute => F::Attribute,
            Field::AttributeReason => F::AttributeReason,
            Field::LegalBasis => F::LegalBasis,
            Field::Superior => F::Superior,
            Field::Channels => F::Channels,
            Field::Signoff => F::Signoff,
            Field::Attachment => F::Attachment,
        }
    }
}

/// Converts the gateway's item into the contract's, with the findings of the
/// plugins that ran before.
pub(crate) fn wit_item(item: &ReviewItem, now: &str) -> WitItem {
    WitItem {
        id: item.id.clone(),
        version: item.version,
        kind: item.kind.clone(),
        title: item.title.clone(),
        body: item.body.clone(),
        attribute: item.attribute.clone(),
        attribute_reason: item.attribute_reason.clone(),
        legal_basis: item.legal_basis.clone(),
        doc_number: item.doc_number.clone(),
        issuer: item.issuer.clone(),
        superior: item.superior.as_ref().map(|s| bindings::SuperiorRef {
            doc_number: s.doc_number.clone(),
            issuer: s.issuer.clone(),
            attribute: s.attribute.clone(),
        }),
        channels: item.channels.clone(),
        attachments: item
            .attachments
            .iter()
            .map(|a| bindings::Attachment {
                name: a.name.clone(),
                media_type: a.media_type.clone(),
                digest: a.digest.clone(),
                size: a.size,
            })
            .collect(),
        formed_at: item.formed_at.clone(),
        now: now.to_owned(),
        signoff: item.signoff.as_ref().map(|s| bindings::Signoff {
            name: s.name.clone(),
            title: s.title.clone(),
            statement_accepted: s.statement_accepted,
            statement_version: s.statement_version.clone(),
            accepted_at: s.accepted_at.clone(),
        }),
        approvals: item
            .approvals
            .iter()
            .map(|a| bindings::Approval {
                stage: a.stage.clone(),
                reviewer: a.reviewer.clone(),
                digest: a.digest.clone(),
            })
            .collect(),
        flags: item.flags.clone(),
        content_digest: item.content_digest.clone(),
        prior_findings: Vec::new(),
    }
}

/// Appends findings to the item's `prior-findings` for the next plugin.
pub(crate) fn push_prior(item: &mut WitItem, findings: &[Finding]) {
    item.prior_findings.extend(findings.iter().map(|f| bindings::Finding {
        rule_id: f.rule_id.clone(),
        kind: f.kind.clone(),
        severity: f.severity.into(),
        field: f.field.into(),
        span: f.span.map(|s| bindings::Span { start: s.start, end: s.end }),
        message: f.message.clone(),
        suggestion: f.suggestion.clone(),
    }));
}
