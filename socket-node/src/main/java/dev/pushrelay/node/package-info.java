/**
 * The socket node: Jetty 12 WebSocket server, registry writes, the node's lease, its delivery channel
 * and the drain. {@link dev.pushrelay.node.SocketNode} builds and wires every part, on the cloud
 * {@link dev.pushrelay.node.NodeBackends} gives it: Google's, or in-memory parts in tests.
 *
 * <h2>Threads, and what each may touch</h2>
 *
 * <p>A socket's own state is touched only by its {@link dev.pushrelay.node.ws.Connection}'s events, which
 * run one at a time on whichever of the threads below gives one while none runs (a
 * {@link dev.pushrelay.node.util.SerialExecutor}); the other threads only post events to it. A socket's
 * states are described once, in {@code Connection}.
 *
 * <table>
 * <caption>threads of a socket node</caption>
 * <tr><th>thread</th><th>runs</th><th>may block?</th></tr>
 * <tr><td>Jetty ({@code qtp…})</td><td>handshakes ({@code SocketCreator}), the socket's callbacks in
 *     {@code JettySocket} (open, text, binary, ping, pong, close: each an event of its {@code Connection}; the
 *     text's size is checked before the event, its rate-limit count in it), {@code /healthz}, {@code /readyz},
 *     {@code /metrics}; write completions, and what they settle (a mailbox entry's settlement starts on the
 *     thread that settled its write: this one, or the socket's event)</td><td>no, but in {@code jwks} mode a
 *     handshake whose key is not cached fetches the keys here, for at most the fetch's timeout (2 s)</td></tr>
 * <tr><td>gRPC / Firestore callbacks</td><td>the registry's and the mailbox's answers (each an event of its
 *     socket: registered, looked, removed); the next waiting catch-up page's read, once one answers
 *     ({@code CallGate}); mailbox settlements; upstream publishes: the {@code accepted} or
 *     {@code error} answer, the next publish of the socket's lane</td><td>no</td></tr>
 * <tr><td>{@code CompletableFutureDelayScheduler} (the JDK's)</td><td>the deadline of a socket's registry or
 *     mailbox call: the call's failure, posted as an event of its socket (and run there when the socket's
 *     events are free); a user's delivered marks waiting 50 ms to go together ({@code DeliveredMarks}),
 *     sent from this thread</td><td>no</td></tr>
 * <tr><td>{@code pull-<subscription>} (1)</td><td>long-polling pulls of the incarnation's ordered
 *     subscription, one at a time; each delivery goes to {@code DeliveryReceiver}, which posts it to the
 *     user's sockets in the order of the answer (a user's messages keep their order); when a socket's events
 *     are free this thread runs the event itself, down to Jetty's {@code sendText}, which does not block</td>
 *     <td>only on the pull</td></tr>
 * <tr><td>{@code acks-<subscription>}</td><td>acks to Pub/Sub, a batch within 1 ms of the first ack after a quiet spell, at most one call every 5 ms under load</td><td>no</td></tr>
 * <tr><td>{@code leases-<subscription>}</td><td>extends the ack deadline of deliveries whose client has
 *     not acked yet</td><td>no</td></tr>
 * <tr><td>{@code heartbeat-<node id>}</td><td>the lease: a conditional renewal every period, a check of
 *     its age every 500 ms; nothing else ever runs here</td><td>no</td></tr>
 * <tr><td>{@code node-fencing}</td><td>a lost lease: closing every socket with 1012, stopping the pulls,
 *     starting the next incarnation</td><td>yes</td></tr>
 * <tr><td>{@code node-cleanup}</td><td>the crash cleanup of lapsed nodes: claims, sweeps, deletions</td>
 *     <td>yes</td></tr>
 * <tr><td>{@code socket-timers}</td><td>the sockets' one timer ({@code NodeSockets}): every 100 ms it looks
 *     at each socket's next deadline and posts an event to those whose time has come (no task is scheduled
 *     per socket); retries of connection events ({@code Upstream})</td><td>no</td></tr>
 * <tr><td>{@code drain}</td><td>the SIGTERM shutdown hook: {@code SocketNode.close}</td><td>yes</td></tr>
 * </table>
 *
 * <h2>Timing, and how the numbers depend on each other</h2>
 *
 * <p>A socket's timings are one record, {@link dev.pushrelay.node.config.SocketTimings}, which refuses a
 * set that contradicts itself (a tick longer than the first catch-up retry, a late look before the second
 * look, an unacked window as long as the mailbox's claim). The node's own:
 *
 * <ul>
 * <li>Lease 12 s, renewed every 4 s ({@code config/topology.json}): a node fences itself when no
 *     renewal succeeded for a whole lease, by its own monotonic clock.</li>
 * <li>Cleanup grace 3 s after a lease lapsed ({@code LapsedNodeCleaner.GRACE}): a fenced node has had
 *     those 3 s to notice, and a stalled one notices at its first check after resuming.</li>
 * <li>Ack deadline of a node subscription 10 s; a sweep calls it empty only after a quiet period of
 *     12 s ({@code DeliveryChannels.quietPeriod}), longer than any lease a dead puller may hold.</li>
 * <li>Unacked window 10 s ({@code SocketTimings.unackedWindow}); the node extends the Pub/Sub deadline of
 *     a held delivery every third of the ack deadline, so the window may exceed it.</li>
 * <li>Drain budget 8 s ({@code SocketNode.DRAIN_BUDGET}) inside Cloud Run's 10 s; the drain's own claim
 *     on its node entry holds 15 s ({@code RegistryStore.RETIRE_HOLD}), after which a live node's cleanup
 *     finishes what the drain left.</li>
 * <li>A route's registry read gives up after 2 s ({@code LiveRoute.LOOKUP_TIMEOUT}).</li>
 * <li>An upstream publish is answered {@code unavailable} when Pub/Sub has not confirmed it 10 s after
 *     the frame came ({@code Upstream.PUBLISH_DEADLINE}); a connection event is retried for up to 10 minutes
 *     ({@code Upstream.EVENT_PATIENCE}), its socket's registry entry kept meanwhile.</li>
 * </ul>
 */
package dev.pushrelay.node;
