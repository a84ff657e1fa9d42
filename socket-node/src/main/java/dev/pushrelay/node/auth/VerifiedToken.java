package dev.pushrelay.node.auth;

import java.time.Instant;

/**
 * Who a verified token names, and until when the node accepts it: its {@code exp} plus the clock
 * skew allowed. A socket is closed with 1008 at that instant.
 */
public record VerifiedToken(String userId, Instant expiresAt) {}
