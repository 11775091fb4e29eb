//! The CA lifecycle as a function: from the CA object, its Secret, its parent and
//! the time, compute the next status, the Secret write and the Events. Nothing
//! here calls the API server, so every branch is testable on its own.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::EventType;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::kind::CaKind;
use crate::api::{CaSpec, CaState, CaStatus, CaSubject, CaType, ParentKind};
use crate::controller::ca_secret::{
    self, CERTIFICATE_KEY, CHAIN_KEY, CSR_KEY, ImportFailure, PRIVATE_KEY_KEY, ROOT_KEY,
};
use crate::controller::conditions;
use crate::pki::{
    self, CaInfo, CaKey, CertificateAuthority, Clock, ExpiryPolicy, IssueRequest,
    IssuedCertificate, SigningAlgorithm, SubjectName, Template, Validity, ValidityType,
};

/// Lifetime of a root CA certificate when `spec.validity` is not set.
pub const DEFAULT_ROOT_VALIDITY: Validity = Validity {
    value: 10,
    kind: ValidityType::Years,
};
/// Lifetime of a subordinate CA certificate when `spec.validity` is not set.
pub const DEFAULT_SUBORDINATE_VALIDITY: Validity = Validity {
    value: 5,
    kind: ValidityType::Years,
};
/// How far before the signing time a subordinate certificate's notBefore is set,
/// the same backdate the engine gives a root.
pub const CA_BACKDATE: time::Duration = time::Duration::minutes(60);
/// Maximum wait between two reconciles of a CA that nothing else triggers.
pub const RESYNC: Duration = Duration::from_secs(60 * 60);
/// Wait between two checks of a parent that is not Active yet.
pub const PARENT_POLL: Duration = Duration::from_secs(30);
/// Wait between two reconciles of a CA that waits for the user or is Failed.
pub const USER_POLL: Duration = Duration::from_secs(5 * 60);
/// Wait between two checks of a CA Secret that does not exist. The Secret
/// watch selects Secrets by label, and a Secret the user creates has no label
/// yet, so this poll is what finds it. Each poll is one GET.
pub const SECRET_POLL: Duration = Duration::from_secs(10);

/// Stable Event reasons of the CA controller.
pub mod reason {
    /// A root CA's key and certificate were generated.
    pub const CREATED: &str = "CACreated";
    /// A CA was imported from an existing Secret.
    pub const IMPORTED: &str = "CAImported";
    /// A CA became Active again.
    pub const ACTIVE: &str = "CAActive";
    /// A parent CA in the cluster signed this subordinate.
    pub const SIGNED: &str = "CASigned";
    /// A subordinate's CSR waits to be signed outside the cluster.
    pub const PENDING_CERTIFICATE: &str = "CAPendingCertificate";
    /// A subordinate waits for its parent to become Active.
    pub const WAITING_FOR_PARENT: &str = "WaitingForParent";
    /// The CA cannot be used.
    pub const FAILED: &str = "CAFailed";
    /// `spec.disabled` is set.
    pub const DISABLED: &str = "CADisabled";
    /// The CA certificate's notAfter has passed.
    pub const EXPIRED: &str = "CAExpired";
    /// The Secret of a CA that was Active is gone.
    pub const SECRET_MISSING: &str = "SecretMissing";
    /// A Root with `spec.secretName` waits for the user to create that Secret.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
}

/// The CA being decided on, as plain data.
#[derive(Debug, Clone, Copy)]
pub struct CaView<'a> {
    /// Kind of the CA.
    pub kind: CaKind,
    /// Name of the CA.
    pub name: &'a str,
    /// metadata.generation.
    pub generation: Option<i64>,
    /// The spec.
    pub spec: &'a CaSpec,
    /// The current status, if any.
    pub status: Option<&'a CaStatus>,
    /// Namespace of the CA's Secret.
    pub secret_namespace: &'a str,
    /// Name of the CA's Secret.
    pub secret_name: &'a str,
}

/// Result of looking up the parent named by `spec.parentRef`.
#[derive(Debug)]
pub enum ParentInput {
    /// The spec names no parent, or the parent was not looked up.
    NotNamed,
    /// The parent does not exist.
    NotFound,
    /// The parent exists but is not Active, or its Secret cannot be loaded.
    NotReady {
        /// Why, for example `it is Creating`.
        detail: String,
    },
    /// The parent is Active and loaded.
    Active {
        /// The parent CA.
        authority: Box<CertificateAuthority>,
        /// The algorithm the parent signs with.
        signing_algorithm: SigningAlgorithm,
    },
}

/// A write to the CA's Secret.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretWrite {
    /// Create the Secret; it must not exist yet.
    Create(Box<Secret>),
    /// Set these entries and the CA label on the existing Secret.
    Update(BTreeMap<String, String>),
    /// Add the CA label to the existing Secret.
    Label,
}

/// An Event to publish about the CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaEvent {
    /// Normal or Warning.
    pub type_: EventType,
    /// One of the constants in [`reason`].
    pub reason: &'static str,
    /// Human-readable detail; never key material.
    pub note: String,
}

/// The outcome of [`decide`]: what to write and when to look again.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The full next status.
    pub status: CaStatus,
    /// The Secret write to make before the status patch, if any.
    pub secret: Option<SecretWrite>,
    /// Events to publish after the status patch.
    pub events: Vec<CaEvent>,
    /// When to reconcile again if nothing else triggers it.
    pub requeue_after: Duration,
    /// notAfter of the CA certificate, once known.
    pub not_after: Option<OffsetDateTime>,
}

impl Decision {
    /// True when the decided state is Active.
    pub fn is_ready(&self) -> bool {
        self.status.state == Some(CaState::Active)
    }
}

/// The state a CA is in, before it is written as status.
struct Outcome {
    state: CaState,
    condition_reason: &'static str,
    message: String,
    info: Option<CaInfo>,
    csr: Option<String>,
    secret: Option<SecretWrite>,
    /// Event for what was done in this reconcile (created, imported, signed).
    action_event: Option<CaEvent>,
    /// Event reason for entering this state.
    state_event: (EventType, &'static str),
    requeue_after: Duration,
}

impl Outcome {
    fn failed(reason: &'static str, message: String) -> Self {
        let event = if reason == reason::SECRET_MISSING {
            reason::SECRET_MISSING
        } else {
            reason::FAILED
        };
        Outcome {
            state: CaState::Failed,
            condition_reason: reason,
            message,
            info: None,
            csr: None,
            secret: None,
            action_event: None,
            state_event: (EventType::Warning, event),
            requeue_after: USER_POLL,
        }
    }

    fn waiting(message: String) -> Self {
        Outcome {
            state: CaState::Creating,
            condition_reason: reason::WAITING_FOR_PARENT,
            message,
            info: None,
            csr: None,
            secret: None,
            action_event: None,
            state_event: (EventType::Normal, reason::WAITING_FOR_PARENT),
            requeue_after: PARENT_POLL,
        }
    }

    /// Waits for the user to create the Secret that `spec.secretName` names.
    fn waiting_for_secret(ca: &CaView<'_>) -> Self {
        let message = format!(
            "Secret {}/{} not found. Create it with {CERTIFICATE_KEY} and {PRIVATE_KEY_KEY} \
             to import a CA, or remove spec.secretName so the controller generates a root CA \
             in Secret {}",
            ca.secret_namespace,
            ca.secret_name,
            ca_secret::default_secret_name(ca.name)
        );
        Outcome {
            state: CaState::Creating,
            condition_reason: reason::SECRET_NOT_FOUND,
            message,
            info: None,
            csr: None,
            secret: None,
            action_event: None,
            state_event: (EventType::Normal, reason::SECRET_NOT_FOUND),
            requeue_after: SECRET_POLL,
        }
    }
}

/// Decides the next status of a CA and the writes that lead there.
///
/// A bad spec or Secret ends in the Failed state. An error is returned only
/// when the engine fails for a reason that is not the input's fault, such as
/// key generation, so the reconcile retries.
pub fn decide(
    ca: &CaView<'_>,
    secret: Option<&Secret>,
    parent: ParentInput,
    clock: &dyn Clock,
) -> Result<Decision, pki::Error> {
    let now = clock.now();
    let outcome = match check_spec(ca) {
        Err((reason, message)) => Outcome::failed(reason, message),
        Ok(()) => match ca.status.and_then(|status| status.serial_number.as_deref()) {
            Some(serial) => decide_created(ca, secret, serial, now),
            None => decide_new(ca, secret, parent, clock)?,
        },
    };
    Ok(finish(ca, secret, outcome, now))
}

/// Checks what the spec alone can get wrong.
fn check_spec(ca: &CaView<'_>) -> Result<(), (&'static str, String)> {
    let spec = ca.spec;
    let invalid = |message: String| Err(("InvalidSpec", message));
    if subject_name(&spec.subject) == SubjectName::default() {
        return invalid("spec.subject has no field set; set at least commonName".to_string());
    }
    if let Some(algorithm) = spec.signing_algorithm
        && let Err(error) = algorithm.check_key(spec.key_algorithm)
    {
        return invalid(format!("spec.signingAlgorithm: {}", error.message()));
    }
    if let Some(path_length) = spec.path_length
        && path_length > 3
    {
        return invalid(format!(
            "spec.pathLength {path_length} is out of range; use 0 to 3"
        ));
    }

    let Some(parent) = &spec.parent_ref else {
        return Ok(());
    };
    if spec.type_ == CaType::Root {
        return invalid(
            "spec.parentRef is set on a Root CA; remove it or set type: Subordinate".to_string(),
        );
    }
    if ca.kind == CaKind::ClusterPrivateCA && parent.kind == ParentKind::PrivateCA {
        return Err((
            "InvalidParent",
            format!(
                "a ClusterPrivateCA cannot have the namespaced PrivateCA {} as parent; \
                 set spec.parentRef.kind to ClusterPrivateCA",
                parent.name
            ),
        ));
    }
    if CaKind::from(parent.kind) == ca.kind && parent.name == ca.name {
        return Err((
            "InvalidParent",
            format!(
                "spec.parentRef names the CA {} itself; name another CA",
                ca.name
            ),
        ));
    }
    Ok(())
}

/// A CA that was created or imported before: its Secret must still hold the same
/// certificate. A new key is never generated here.
fn decide_created(
    ca: &CaView<'_>,
    secret: Option<&Secret>,
    serial: &str,
    now: OffsetDateTime,
) -> Outcome {
    let Some(secret) = secret else {
        let missing = Outcome::failed(
            reason::SECRET_MISSING,
            format!(
                "Secret {}/{} of CA serial {serial} is missing; restore it from a backup. \
                 The controller never replaces a CA key",
                ca.secret_namespace, ca.secret_name
            ),
        );
        // A restored Secret may lack the label the Secret watch selects on.
        return Outcome {
            requeue_after: SECRET_POLL,
            ..missing
        };
    };
    match ca_secret::import_authority(secret) {
        Err(ImportFailure { reason, message }) => Outcome::failed(reason, message),
        Ok(authority) if authority.info().serial.to_hex() != serial => Outcome::failed(
            "CertificateChanged",
            format!(
                "Secret {}/{} holds certificate serial {} but this CA is serial {serial}; \
                 restore the original Secret, or delete and re-create the CA to import the new one",
                ca.secret_namespace,
                ca.secret_name,
                authority.info().serial
            ),
        ),
        Ok(authority) => match type_mismatch(ca, authority.info()) {
            Some(outcome) => outcome,
            None => usable(ca, authority.info().clone(), None, None, now),
        },
    }
}

/// Returns the Failed outcome when a Root is not self-signed or a Subordinate is.
fn type_mismatch(ca: &CaView<'_>, info: &CaInfo) -> Option<Outcome> {
    let message = match (ca.spec.type_, info.is_root) {
        (CaType::Root, false) => {
            "spec.type is Root but tls.crt is not self-signed; \
                                  set type: Subordinate or write a self-signed certificate"
        }
        (CaType::Subordinate, true) => {
            "spec.type is Subordinate but tls.crt is self-signed; \
                                        set type: Root or write the subordinate certificate"
        }
        _ => return None,
    };
    Some(Outcome::failed("TypeMismatch", message.to_string()))
}

/// True for a Root whose spec names its Secret. The user provides that Secret,
/// so the controller never creates it and never generates a key for it.
fn imports_only(ca: &CaView<'_>) -> bool {
    ca.spec.type_ == CaType::Root && ca_secret::is_explicit(ca.spec.secret_name.as_deref())
}

/// Decides for a CA that has no certificate on record yet.
fn decide_new(
    ca: &CaView<'_>,
    secret: Option<&Secret>,
    parent: ParentInput,
    clock: &dyn Clock,
) -> Result<Outcome, pki::Error> {
    let now = clock.now();
    if secret.is_none() && imports_only(ca) {
        return Ok(Outcome::waiting_for_secret(ca));
    }
    if let Some(secret) = secret
        && ca_secret::non_empty(secret, CERTIFICATE_KEY).is_some()
    {
        return Ok(import(ca, secret, now));
    }
    let existing_key = match secret.and_then(|secret| ca_secret::non_empty(secret, PRIVATE_KEY_KEY))
    {
        Some(pem) => match CaKey::from_pem(pem) {
            Ok(key) => Some(key),
            Err(error) => {
                let fix = if imports_only(ca) {
                    "write the PEM private key of the CA there"
                } else {
                    "fix it or delete the Secret so a new key is generated"
                };
                return Ok(Outcome::failed(
                    "InvalidKey",
                    format!(
                        "{PRIVATE_KEY_KEY} of Secret {}/{} is unusable: {error}; {fix}",
                        ca.secret_namespace, ca.secret_name
                    ),
                ));
            }
        },
        None => None,
    };
    if secret.is_some() && existing_key.is_none() {
        let fix = if imports_only(ca) {
            "write the CA there"
        } else {
            "write the CA there or delete the Secret so the controller creates the CA"
        };
        return Ok(Outcome::failed(
            "InvalidCertificate",
            format!(
                "Secret {}/{} has neither {CERTIFICATE_KEY} nor {PRIVATE_KEY_KEY}; {fix}",
                ca.secret_namespace, ca.secret_name
            ),
        ));
    }
    match (ca.spec.type_, &ca.spec.parent_ref) {
        (CaType::Root, _) => create_root(ca, secret, existing_key, clock),
        (CaType::Subordinate, Some(parent_ref)) => {
            let parent_name = format!(
                "{} {}",
                CaKind::from(parent_ref.kind).as_str(),
                parent_ref.name
            );
            match parent {
                ParentInput::Active {
                    authority,
                    signing_algorithm,
                } => sign_with_parent(
                    ca,
                    secret,
                    existing_key,
                    &authority,
                    signing_algorithm,
                    &parent_name,
                    clock,
                ),
                ParentInput::NotFound | ParentInput::NotNamed => Ok(Outcome::waiting(format!(
                    "waiting for parent {parent_name}: not found; create it"
                ))),
                ParentInput::NotReady { detail } => Ok(Outcome::waiting(format!(
                    "waiting for parent {parent_name}: {detail}"
                ))),
            }
        }
        (CaType::Subordinate, None) => pending(ca, secret, existing_key),
    }
}

/// Imports a CA the user wrote into the Secret.
fn import(ca: &CaView<'_>, secret: &Secret, now: OffsetDateTime) -> Outcome {
    match ca_secret::import_authority(secret) {
        Err(ImportFailure { reason, message }) => Outcome::failed(reason, message),
        Ok(authority) => {
            if let Some(outcome) = type_mismatch(ca, authority.info()) {
                return outcome;
            }
            let info = authority.info().clone();
            let event = CaEvent {
                type_: EventType::Normal,
                reason: reason::IMPORTED,
                note: format!(
                    "imported CA {} serial {} from Secret {}/{}",
                    info.subject, info.serial, ca.secret_namespace, ca.secret_name
                ),
            };
            usable(ca, info, None, Some(event), now)
        }
    }
}

/// Generates a root CA, or self-signs a key the user stored without a certificate.
fn create_root(
    ca: &CaView<'_>,
    secret: Option<&Secret>,
    existing_key: Option<CaKey>,
    clock: &dyn Clock,
) -> Result<Outcome, pki::Error> {
    let spec = ca.spec;
    let subject = subject_name(&spec.subject);
    let validity = spec.validity.unwrap_or(DEFAULT_ROOT_VALIDITY);
    let key_algorithm = existing_key
        .as_ref()
        .map_or(spec.key_algorithm, |key| key.algorithm());
    let signing_algorithm = signing_algorithm(spec, key_algorithm);
    if let Err(error) = signing_algorithm.check_key(key_algorithm) {
        return Ok(Outcome::failed("InvalidSpec", error.message().to_string()));
    }

    let authority = match existing_key {
        Some(key) => CertificateAuthority::create_root_with_key(
            key,
            &subject,
            signing_algorithm,
            validity,
            clock,
        ),
        None => CertificateAuthority::create_root(
            &subject,
            key_algorithm,
            signing_algorithm,
            validity,
            clock,
        ),
    };
    let authority = match authority {
        Ok(authority) => authority,
        Err(error) if error.kind() == pki::ErrorKind::Internal => return Err(error),
        Err(error) => return Ok(Outcome::failed("InvalidSpec", error.to_string())),
    };

    let certificate = authority.certificate_pem();
    let data = BTreeMap::from([
        (CERTIFICATE_KEY.to_string(), certificate.clone()),
        (PRIVATE_KEY_KEY.to_string(), authority.key().to_pkcs8_pem()),
        (ROOT_KEY.to_string(), certificate),
        (CHAIN_KEY.to_string(), String::new()),
    ]);
    let info = authority.info().clone();
    let event = CaEvent {
        type_: EventType::Normal,
        reason: reason::CREATED,
        note: format!(
            "created root CA {} serial {} ({key_algorithm}, {signing_algorithm}) in Secret {}/{}",
            info.subject, info.serial, ca.secret_namespace, ca.secret_name
        ),
    };
    Ok(usable(
        ca,
        info,
        Some(write_for(ca, secret, data)),
        Some(event),
        clock.now(),
    ))
}

/// Has an Active parent in the cluster sign a subordinate.
fn sign_with_parent(
    ca: &CaView<'_>,
    secret: Option<&Secret>,
    existing_key: Option<CaKey>,
    parent: &CertificateAuthority,
    parent_signing_algorithm: SigningAlgorithm,
    parent_name: &str,
    clock: &dyn Clock,
) -> Result<Outcome, pki::Error> {
    let spec = ca.spec;
    let path_len = spec.path_length.unwrap_or(0);
    if let Some(outcome) = path_len_exceeded(path_len, parent, parent_name) {
        return Ok(outcome);
    }

    let key = match existing_key {
        Some(key) => key,
        None => CaKey::generate(spec.key_algorithm)?,
    };
    let csr = CertificateAuthority::subordinate_csr(
        &key,
        &subject_name(&spec.subject),
        signing_algorithm(spec, key.algorithm()),
    )?;
    let now = clock.now();
    let validity = spec.validity.unwrap_or(DEFAULT_SUBORDINATE_VALIDITY);
    let not_after = match validity.not_after(now) {
        Ok(not_after) => not_after,
        Err(error) => {
            return Ok(Outcome::failed(
                "InvalidSpec",
                format!("spec.validity: {error}"),
            ));
        }
    };
    let request = IssueRequest {
        csr: csr.as_bytes(),
        template: Template::SubordinateCa { path_len },
        signing_algorithm: parent_signing_algorithm,
        not_before: now - CA_BACKDATE,
        not_after,
        expiry_policy: ExpiryPolicy::Cap,
    };
    let issued = match parent.issue(&request, false, clock) {
        Ok(issued) => issued,
        Err(error) if error.kind() == pki::ErrorKind::Internal => return Err(error),
        Err(error) => {
            return Ok(Outcome::failed(
                "SigningFailed",
                format!("parent {parent_name} did not sign the CSR: {error}"),
            ));
        }
    };

    let certificate = issued.certificate_pem();
    let chain = issued.certificate_chain_pem();
    let key_pem = key.to_pkcs8_pem();
    let authority =
        CertificateAuthority::import(&certificate, key, Some(&chain)).map_err(|error| {
            pki::Error::internal(format!(
                "the certificate signed by parent {parent_name} does not import: {error}"
            ))
        })?;
    let data = BTreeMap::from([
        (CERTIFICATE_KEY.to_string(), certificate),
        (PRIVATE_KEY_KEY.to_string(), key_pem),
        (ROOT_KEY.to_string(), issued.root_pem()),
        (CHAIN_KEY.to_string(), chain),
        (CSR_KEY.to_string(), csr),
    ]);
    let info = authority.info().clone();
    let event = signed_event(&info, &issued, parent_name);
    let write = write_for(ca, secret, data);
    Ok(usable(ca, info, Some(write), Some(event), now))
}

/// Returns the Failed outcome when the parent's pathLenConstraint leaves no room
/// for a CA with `path_len`.
fn path_len_exceeded(
    path_len: u8,
    parent: &CertificateAuthority,
    parent_name: &str,
) -> Option<Outcome> {
    let parent_path_len = parent.info().path_len?;
    if path_len < parent_path_len {
        return None;
    }
    let fix = match parent_path_len {
        0 => "the parent cannot sign CA certificates, so choose a parent with a larger pathLen"
            .to_string(),
        limit => format!("set spec.pathLength to {} or less", limit - 1),
    };
    Some(Outcome::failed(
        "PathLenExceeded",
        format!(
            "spec.pathLength {path_len} is not below the pathLen {parent_path_len} of parent \
             {parent_name}; {fix}"
        ),
    ))
}

/// Builds the CASigned Event, naming the template and any shortened notAfter.
fn signed_event(info: &CaInfo, issued: &IssuedCertificate, parent_name: &str) -> CaEvent {
    let capped = issued
        .capped
        .as_ref()
        .map(|cap| {
            format!(
                "; notAfter shortened to {} by {}",
                rfc3339(cap.issued),
                cap.reason
            )
        })
        .unwrap_or_default();
    CaEvent {
        type_: EventType::Normal,
        reason: reason::SIGNED,
        note: format!(
            "parent {parent_name} signed CA {} serial {} with {}{capped}",
            info.subject, info.serial, issued.template
        ),
    }
}

/// Keeps the key of a subordinate signed outside the cluster in its Secret and
/// publishes the CSR until the user writes the certificate.
fn pending(
    ca: &CaView<'_>,
    secret: Option<&Secret>,
    existing_key: Option<CaKey>,
) -> Result<Outcome, pki::Error> {
    let spec = ca.spec;
    let stored_csr = secret
        .and_then(|secret| ca_secret::non_empty(secret, CSR_KEY))
        .map(str::to_string);
    let (csr, write) = match (existing_key, stored_csr) {
        (Some(_), Some(csr)) => (csr, None),
        (Some(key), None) => {
            let csr = CertificateAuthority::subordinate_csr(
                &key,
                &subject_name(&spec.subject),
                signing_algorithm(spec, key.algorithm()),
            )?;
            let data = BTreeMap::from([(CSR_KEY.to_string(), csr.clone())]);
            (csr, Some(write_for(ca, secret, data)))
        }
        (None, _) => {
            let key = CaKey::generate(spec.key_algorithm)?;
            let csr = CertificateAuthority::subordinate_csr(
                &key,
                &subject_name(&spec.subject),
                signing_algorithm(spec, key.algorithm()),
            )?;
            // kubernetes.io/tls requires a tls.crt entry, so it starts empty.
            let data = BTreeMap::from([
                (CERTIFICATE_KEY.to_string(), String::new()),
                (PRIVATE_KEY_KEY.to_string(), key.to_pkcs8_pem()),
                (CSR_KEY.to_string(), csr.clone()),
            ]);
            (csr, Some(write_for(ca, secret, data)))
        }
    };
    Ok(Outcome {
        state: CaState::PendingCertificate,
        condition_reason: "PendingCertificate",
        message: format!(
            "sign status.csr outside the cluster, then write the certificate to {CERTIFICATE_KEY}, \
             its issuers to {CHAIN_KEY} (parent first; may be omitted when a root signed it) and \
             the root to {ROOT_KEY} of Secret {}/{}",
            ca.secret_namespace, ca.secret_name
        ),
        info: None,
        csr: Some(csr),
        secret: write,
        action_event: None,
        state_event: (EventType::Normal, reason::PENDING_CERTIFICATE),
        requeue_after: USER_POLL,
    })
}

/// Picks the state of a CA whose certificate is loaded: Expired, Disabled or Active.
fn usable(
    ca: &CaView<'_>,
    info: CaInfo,
    secret: Option<SecretWrite>,
    action_event: Option<CaEvent>,
    now: OffsetDateTime,
) -> Outcome {
    let until_expiry = info.not_after - now;
    let (state, condition_reason, message, state_event) = if until_expiry <= time::Duration::ZERO {
        (
            CaState::Expired,
            "Expired",
            format!(
                "the CA certificate expired at {}; create a new CA",
                rfc3339(info.not_after)
            ),
            (EventType::Warning, reason::EXPIRED),
        )
    } else if ca.spec.disabled {
        (
            CaState::Disabled,
            "Disabled",
            "spec.disabled is true; set it to false to issue again".to_string(),
            (EventType::Normal, reason::DISABLED),
        )
    } else {
        (
            CaState::Active,
            "Active",
            format!("CA {} serial {} is issuing", info.subject, info.serial),
            (EventType::Normal, reason::ACTIVE),
        )
    };
    // Wake up just after notAfter so the CA turns Expired on time.
    let requeue_after = Duration::try_from(until_expiry + time::Duration::SECOND)
        .map_or(RESYNC, |until| until.min(RESYNC));
    Outcome {
        state,
        condition_reason,
        message,
        info: Some(info),
        csr: None,
        secret,
        action_event,
        state_event,
        requeue_after,
    }
}

/// Turns an outcome into the status, the Events and the Secret write.
fn finish(
    ca: &CaView<'_>,
    secret: Option<&Secret>,
    outcome: Outcome,
    now: OffsetDateTime,
) -> Decision {
    let previous = ca.status.cloned().unwrap_or_default();
    let ready = outcome.state == CaState::Active;
    let condition = conditions::ready_condition(
        &previous.conditions,
        ready,
        outcome.condition_reason,
        &outcome.message,
        ca.generation,
        now,
    );
    let mut status = CaStatus {
        state: Some(outcome.state),
        conditions: vec![condition],
        observed_generation: ca.generation,
        csr: outcome.csr,
        failure_reason: (outcome.state == CaState::Failed).then(|| outcome.message.clone()),
        ..previous.clone()
    };

    let not_after = outcome.info.as_ref().map(|info| info.not_after);
    if let Some(info) = &outcome.info {
        status.serial_number = Some(info.serial.to_hex());
        status.subject = Some(info.subject.clone());
        status.not_before = Some(rfc3339(info.not_before));
        status.not_after = Some(rfc3339(info.not_after));
    }

    let previous_reason = conditions::find_ready(&previous.conditions).map(|c| c.reason.as_str());
    let changed =
        previous.state != status.state || previous_reason != Some(outcome.condition_reason);
    let mut events = Vec::new();
    if let Some(event) = &outcome.action_event {
        events.push(event.clone());
    }
    let action_covers_state = outcome.action_event.is_some() && ready;
    if changed && !action_covers_state {
        let (type_, reason) = outcome.state_event;
        events.push(CaEvent {
            type_,
            reason,
            note: outcome.message.clone(),
        });
    }

    let secret_write = outcome.secret.or_else(|| match secret {
        Some(existing) if !ca_secret::is_labelled(existing) => Some(SecretWrite::Label),
        _ => None,
    });
    Decision {
        status,
        secret: secret_write,
        events,
        requeue_after: outcome.requeue_after,
        not_after,
    }
}

/// Chooses a Create for a Secret that does not exist yet, else an Update of the entries.
fn write_for(
    ca: &CaView<'_>,
    secret: Option<&Secret>,
    data: BTreeMap<String, String>,
) -> SecretWrite {
    match secret {
        Some(_) => SecretWrite::Update(data),
        None => SecretWrite::Create(Box::new(ca_secret::new_ca_secret(
            ca.secret_namespace,
            ca.secret_name,
            data,
        ))),
    }
}

/// Returns the spec's signing algorithm, or the default for the key.
fn signing_algorithm(spec: &CaSpec, key_algorithm: pki::KeyAlgorithm) -> SigningAlgorithm {
    spec.signing_algorithm
        .unwrap_or_else(|| key_algorithm.default_signing_algorithm())
}

/// Converts the CRD's subject to the engine's. Blank fields count as unset.
pub fn subject_name(subject: &CaSubject) -> SubjectName {
    let field = |value: &Option<String>| {
        value
            .as_ref()
            .filter(|value| !value.trim().is_empty())
            .cloned()
    };
    SubjectName {
        common_name: field(&subject.common_name),
        organization: field(&subject.organization),
        organizational_unit: field(&subject.organizational_unit),
        country: field(&subject.country),
        state: field(&subject.state),
        locality: field(&subject.locality),
    }
}

/// Formats an instant as RFC 3339; an instant RFC 3339 cannot express becomes
/// its Unix seconds.
pub fn rfc3339(instant: OffsetDateTime) -> String {
    instant
        .format(&Rfc3339)
        .unwrap_or_else(|_| instant.unix_timestamp().to_string())
}
