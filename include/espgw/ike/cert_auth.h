// Certificate authentication for IKE_AUTH (RFC 7296 §2.15, §3.6-3.8; RFC 4754; RFC 7427) in
// one include: the octets a side signs (signed_octets.h), certificates, our credentials and
// the trust store (x509_credentials.h), and AUTH signatures with the SIGNATURE_HASH_ALGORITHMS
// notify (signature_auth.h).
//
// The responder's part of an exchange, in order: build the octets the peer signed with
// signed_octets(prf, initiator's IKE_SA_INIT request, Nr, SK_pi, IDi body); trust.verify()
// the peer's CERT payloads (first the end-entity certificate, then intermediates); check
// Certificate::matches_id(IDi); verify_auth() its AUTH; then sign_auth() our own octets,
// with method 14 if the peer sent SIGNATURE_HASH_ALGORITHMS.
#pragma once

#include "espgw/ike/signature_auth.h"
#include "espgw/ike/signed_octets.h"
#include "espgw/ike/x509_credentials.h"
