package dev.pushrelay.node.auth;

import java.time.Instant;

/** Who a verified token names, and until when it is valid. */
public record VerifiedToken(String userId, Instant expiresAt) {}
