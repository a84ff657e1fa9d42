package dev.pushrelay.gcp;

import com.google.api.core.ApiFuture;
import com.google.api.gax.rpc.ApiCallContext;
import com.google.api.gax.rpc.BidiStreamingCallable;
import com.google.api.gax.rpc.ResponseObserver;
import com.google.api.gax.rpc.ServerStreamingCallable;
import com.google.api.gax.rpc.UnaryCallable;
import com.google.cloud.firestore.FirestoreOptions;
import com.google.cloud.firestore.FirestoreRpcFactory;
import com.google.cloud.firestore.spi.v1.FirestoreRpc;
import com.google.cloud.firestore.spi.v1.GrpcFirestoreRpc;
import com.google.cloud.firestore.v1.FirestoreClient;
import com.google.firestore.v1.BatchGetDocumentsRequest;
import com.google.firestore.v1.BatchGetDocumentsResponse;
import com.google.firestore.v1.BatchWriteRequest;
import com.google.firestore.v1.BatchWriteResponse;
import com.google.firestore.v1.BeginTransactionRequest;
import com.google.firestore.v1.BeginTransactionResponse;
import com.google.firestore.v1.CommitRequest;
import com.google.firestore.v1.CommitResponse;
import com.google.firestore.v1.ExecutePipelineRequest;
import com.google.firestore.v1.ExecutePipelineResponse;
import com.google.firestore.v1.ListCollectionIdsRequest;
import com.google.firestore.v1.ListDocumentsRequest;
import com.google.firestore.v1.ListenRequest;
import com.google.firestore.v1.ListenResponse;
import com.google.firestore.v1.PartitionQueryRequest;
import com.google.firestore.v1.RollbackRequest;
import com.google.firestore.v1.RunAggregationQueryRequest;
import com.google.firestore.v1.RunAggregationQueryResponse;
import com.google.firestore.v1.RunQueryRequest;
import com.google.firestore.v1.RunQueryResponse;
import com.google.protobuf.Empty;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Firestore's own RPC layer with each request written to the {@link CallLedger} under its gRPC method
 * name. The Firestore client builds its gRPC channel itself (for the emulator too), so an interceptor
 * cannot be put on it; this is the one place every Firestore request passes.
 */
final class LedgeredFirestoreRpc implements FirestoreRpc {
  private static final String SERVICE = "google.firestore.v1.Firestore/";
  private final FirestoreRpc rpc;
  private final CallLedger ledger;

  private LedgeredFirestoreRpc(FirestoreRpc rpc, CallLedger ledger) {
    this.rpc = rpc;
    this.ledger = ledger;
  }

  /** The factory to give {@link FirestoreOptions.Builder#setServiceRpcFactory}. */
  static FirestoreRpcFactory factory(CallLedger ledger) {
    return new FirestoreRpcFactory() {
      @Override
      public FirestoreRpc create(FirestoreOptions options) {
        try {
          return new LedgeredFirestoreRpc(new GrpcFirestoreRpc(options), ledger);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot build Firestore's RPC layer", e);
        }
      }
    };
  }

  private <Q, R> UnaryCallable<Q, R> unary(String method, UnaryCallable<Q, R> callable) {
    return new UnaryCallable<>() {
      @Override
      public ApiFuture<R> futureCall(Q request, ApiCallContext context) {
        ledger.record(SERVICE + method, request);
        return callable.futureCall(request, context);
      }
    };
  }

  private <Q, R> ServerStreamingCallable<Q, R> streaming(String method, ServerStreamingCallable<Q, R> callable) {
    return new ServerStreamingCallable<>() {
      @Override
      public void call(Q request, ResponseObserver<R> observer, ApiCallContext context) {
        ledger.record(SERVICE + method, request);
        callable.call(request, observer, context);
      }
    };
  }

  @Override
  public UnaryCallable<CommitRequest, CommitResponse> commitCallable() {
    return unary("Commit", rpc.commitCallable());
  }

  @Override
  public UnaryCallable<BatchWriteRequest, BatchWriteResponse> batchWriteCallable() {
    return unary("BatchWrite", rpc.batchWriteCallable());
  }

  @Override
  public ServerStreamingCallable<BatchGetDocumentsRequest, BatchGetDocumentsResponse> batchGetDocumentsCallable() {
    return streaming("BatchGetDocuments", rpc.batchGetDocumentsCallable());
  }

  @Override
  public ServerStreamingCallable<RunQueryRequest, RunQueryResponse> runQueryCallable() {
    return streaming("RunQuery", rpc.runQueryCallable());
  }

  @Override
  public ServerStreamingCallable<ExecutePipelineRequest, ExecutePipelineResponse> executePipelineCallable() {
    return streaming("ExecutePipeline", rpc.executePipelineCallable());
  }

  @Override
  public ServerStreamingCallable<RunAggregationQueryRequest, RunAggregationQueryResponse>
      runAggregationQueryCallable() {
    return streaming("RunAggregationQuery", rpc.runAggregationQueryCallable());
  }

  @Override
  public UnaryCallable<BeginTransactionRequest, BeginTransactionResponse> beginTransactionCallable() {
    return unary("BeginTransaction", rpc.beginTransactionCallable());
  }

  @Override
  public UnaryCallable<RollbackRequest, Empty> rollbackCallable() {
    return unary("Rollback", rpc.rollbackCallable());
  }

  @Override
  public UnaryCallable<ListCollectionIdsRequest, FirestoreClient.ListCollectionIdsPagedResponse>
      listCollectionIdsPagedCallable() {
    return unary("ListCollectionIds", rpc.listCollectionIdsPagedCallable());
  }

  @Override
  public UnaryCallable<PartitionQueryRequest, FirestoreClient.PartitionQueryPagedResponse>
      partitionQueryPagedCallable() {
    return unary("PartitionQuery", rpc.partitionQueryPagedCallable());
  }

  @Override
  public UnaryCallable<ListDocumentsRequest, FirestoreClient.ListDocumentsPagedResponse>
      listDocumentsPagedCallable() {
    return unary("ListDocuments", rpc.listDocumentsPagedCallable());
  }

  /**
   * The revocation watch's listen stream. Its requests are sent after the call starts, so it is
   * recorded when it is opened, without resources: Listen needs the same read permissions wherever it looks.
   */
  @Override
  public BidiStreamingCallable<ListenRequest, ListenResponse> listenCallable() {
    ledger.record(SERVICE + "Listen", null);
    return rpc.listenCallable();
  }

  @Override
  public ScheduledExecutorService getExecutor() {
    return rpc.getExecutor();
  }

  @Override
  public void shutdownNow() {
    rpc.shutdownNow();
  }

  @Override
  public void shutdown() {
    rpc.shutdown();
  }

  @Override
  public void close() throws Exception {
    rpc.close();
  }
}
