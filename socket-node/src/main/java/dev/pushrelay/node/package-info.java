/**
 * The socket node: Jetty 12 WebSocket server, registry writes, the node's lease, its delivery channel
 * and the drain. {@link dev.pushrelay.node.SocketNode} builds and wires every part.
 *
 * <h2>Threads, and what each may touch</h2>
 *
 * <table>
 * <caption>threads of a socket node</caption>
 * <tr><th>thread</th><th>runs</th><th>may block?</th></tr>
 * <tr><td>Jetty ({@code qtp…})</td><td>handshakes ({@code SocketCreator}), socket callbacks
 *     ({@code RelayEndpoint}: open, text, close), {@code /healthz}, {@code /readyz}</td><td>no</td></tr>
 * <tr><td>gRPC / Firestore callbacks</td><td>continuations of registry and mailbox calls: the
 *     registry commit on connect, the catch-up's writes, mailbox settlements; of upstream publishes:
 *     the {@code accepted} or {@code error} answer, the next publish of the socket's lane, the
 *     registry removal once a {@code disconnected} event is out</td><td>no</td></tr>
 * <tr><td>{@code pull-<subscription>} (1)</td><td>long-polling pulls of the incarnation's ordered
 *     subscription, one at a time; each delivery goes to {@code DeliveryReceiver}, which hands it to the
 *     sockets without waiting, in the order of the answer (a user's messages keep their order)</td>
 *     <td>only on the pull</td></tr>
 * <tr><td>{@code acks-<subscription>}</td><td>acks to Pub/Sub, a batch within 1 ms of the first ack after a quiet spell</td><td>no</td></tr>
 * <tr><td>{@code leases-<subscription>}</td><td>extends the ack deadline of deliveries whose client has
 *     not acked yet</td><td>no</td></tr>
 * <tr><td>{@code heartbeat-<node id>}</td><td>the lease: a conditional renewal every period, a check of
 *     its age every 500 ms; nothing else ever runs here</td><td>no</td></tr>
 * <tr><td>{@code node-fencing}</td><td>a lost lease: closing every socket with 1012, stopping the pulls,
 *     starting the next incarnation</td><td>yes</td></tr>
 * <tr><td>{@code node-cleanup}</td><td>the crash cleanup of lapsed nodes: claims, sweeps, deletions</td>
 *     <td>yes</td></tr>
 * <tr><td>{@code socket-timers}</td><td>per-socket deadlines (open, token expiry, slow consumer), the
 *     liveness sweep, the unacked window (once a second), catch-up retries, retries of connection
 *     events ({@code Upstream})</td><td>no</td></tr>
 * <tr><td>{@code drain}</td><td>the SIGTERM shutdown hook: {@code SocketNode.close}</td><td>yes</td></tr>
 * </table>
 *
 * <h2>Timing, and how the numbers depend on each other</h2>
 *
 * <ul>
 * <li>Lease 12 s, renewed every 4 s ({@code config/topology.json}): a node fences itself when no
 *     renewal succeeded for a whole lease, by its own monotonic clock.</li>
 * <li>Cleanup grace 3 s after a lease lapsed ({@code LapsedNodeCleaner.GRACE}): a fenced node has had
 *     those 3 s to notice, and a stalled one notices at its first check after resuming.</li>
 * <li>Ack deadline of a node subscription 10 s; a sweep calls it empty only after a quiet period of
 *     12 s ({@code DeliveryChannels.quietPeriod}), longer than any lease a dead puller may hold.</li>
 * <li>Unacked window 10 s ({@code ConnectionLifecycle.UNACKED_WINDOW}); the node extends the Pub/Sub
 *     deadline of a held delivery every third of the ack deadline, so the window may exceed it.</li>
 * <li>Drain budget 8 s ({@code SocketNode.DRAIN_BUDGET}) inside Cloud Run's 10 s; the drain's own claim
 *     on its node entry holds 15 s ({@code RegistryStore.RETIRE_HOLD}), after which a live node's cleanup
 *     finishes what the drain left.</li>
 * <li>Registry calls on the connect path give up after 5 s ({@code ConnectionLifecycle.REGISTRY_DEADLINE});
 *     a route's registry read after 2 s ({@code LiveRoute.LOOKUP_TIMEOUT}).</li>
 * <li>Settling window 1 s ({@code ConnectionLifecycle.SECOND_LOOK}): after its catch-up a socket holds
 *     what comes for it, looks at the mailbox again, then writes the held messages in accept order; it
 *     covers a route that read the registry just before the socket was in it. A late look 5 s after the
 *     catch-up ({@code ConnectionLifecycle.LATE_LOOK}) writes what was parked while the registry did not list
 *     the socket yet (a Firestore outage just over).</li>
 * <li>An upstream publish is answered {@code unavailable} when Pub/Sub has not confirmed it 10 s after
 *     the frame came ({@code Upstream.PUBLISH_DEADLINE}); a connection event is retried for up to 10 minutes
 *     ({@code Upstream.EVENT_PATIENCE}), its socket's registry entry kept meanwhile.</li>
 * <li>Mailbox claims older than 30 s belong to a socket that died ({@code FirestoreMailbox}); longer than
 *     the unacked window, so a live socket's claim is settled before it can expire.</li>
 * </ul>
 */
package dev.pushrelay.node;
