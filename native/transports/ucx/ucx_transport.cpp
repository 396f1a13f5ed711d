// UCX context, worker and endpoints: setup, the address exchange, and teardown.
#include "transports/ucx/ucx_transport.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace zc::transport::ucx {

namespace {

std::string ucs_message(const char* what, ucs_status_t st) {
  return std::string(what) + ": " + ucs_status_string(st);
}

void endpoint_error_cb(void* arg, ucp_ep_h /*ep*/, ucs_status_t status) {
  auto* a = static_cast<EndpointArg*>(arg);
  a->transport->on_endpoint_error(a->rank, status);
}

}  // namespace

std::unique_ptr<Transport> create(const Options& options, std::string* err) {
  auto t = std::make_unique<UcxTransport>(options);
  if (!t->init(err)) return nullptr;
  return t;
}

UcxTransport::UcxTransport(const Options& options) : options_(options) {}

UcxTransport::~UcxTransport() { shutdown(); }

bool UcxTransport::init(std::string* err) {
  peer_errors_ = options_.ucx_peer_errors;
  // NULL env prefix and file: UCX reads UCX_* variables exactly as it would in any UCX
  // program, so UCX_TLS=tcp and friends keep working.
  ucp_config_t* config = nullptr;
  ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
  if (st != UCS_OK) {
    *err = ucs_message("UCX configuration could not be read (check UCX_* variables)", st);
    return false;
  }
  ucp_params_t params;
  std::memset(&params, 0, sizeof(params));
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED |
                      UCP_PARAM_FIELD_ESTIMATED_NUM_EPS | UCP_PARAM_FIELD_NAME;
  // TAG: MPI-style matching in UCX itself. WAKEUP: an event descriptor the progress thread
  // sleeps on instead of spinning (ranks share CPUs). AM: single-copy acknowledgements.
  params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP | UCP_FEATURE_AM;
  params.mt_workers_shared = 0;
  params.estimated_num_eps = size_t(options_.size);
  params.name = "zcmpi";
  st = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (st != UCS_OK) {
    *err = ucs_message("UCX could not be initialized (ucp_init)", st);
    return false;
  }

  ucp_worker_params_t wp;
  std::memset(&wp, 0, sizeof(wp));
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  // Our ReentrantLock serializes access; see reentrant_lock.h for why not MULTI.
  wp.thread_mode = UCS_THREAD_MODE_SERIALIZED;
  st = ucp_worker_create(context_, &wp, &worker_);
  if (st != UCS_OK) {
    *err = ucs_message("UCX worker could not be created", st);
    return false;
  }

  ucp_address_t* addr = nullptr;
  size_t addr_len = 0;
  st = ucp_worker_get_address(worker_, &addr, &addr_len);
  if (st != UCS_OK) {
    *err = ucs_message("UCX worker address is not available", st);
    return false;
  }
  address_.assign(reinterpret_cast<uint8_t*>(addr), reinterpret_cast<uint8_t*>(addr) + addr_len);
  ucp_worker_release_address(worker_, addr);

  return sc_init(err) && setup_wakeup(err);
}

bool UcxTransport::connect(const std::vector<std::vector<uint8_t>>& addresses, std::string* err) {
  if (int(addresses.size()) != options_.size) {
    *err = "expected " + std::to_string(options_.size) + " worker addresses, got " +
           std::to_string(addresses.size());
    return false;
  }
  LockGuard g(lock_);
  std::vector<const uint8_t*> ucx_addresses;
  if (!sc_connect(addresses, &ucx_addresses, err)) return false;
  endpoints_.assign(addresses.size(), nullptr);
  endpoint_args_.reset(new EndpointArg[addresses.size()]);
  failed_.reset(new std::atomic<bool>[addresses.size()]);
  for (size_t r = 0; r < addresses.size(); r++) {
    failed_[r].store(false);
    endpoint_args_[r] = EndpointArg{this, int(r)};
    ucp_ep_params_t ep;
    std::memset(&ep, 0, sizeof(ep));
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                    UCP_EP_PARAM_FIELD_ERR_HANDLER;
    ep.address = reinterpret_cast<const ucp_address_t*>(ucx_addresses[r]);
    // PEER mode would fail our operations with a rank that dies instead of hanging them, but
    // UCX 1.13 then excludes every transport without peer-failure detection: shared memory,
    // CMA and self, leaving only TCP (measured: 8-byte latency 10x worse). zcmpirun already
    // ends the job when a rank dies, so NONE is the default; ZCMPI_UCX_PEER_ERRORS=1 opts in.
    ep.err_mode = peer_errors_ ? UCP_ERR_HANDLING_MODE_PEER : UCP_ERR_HANDLING_MODE_NONE;
    ep.err_handler.cb = endpoint_error_cb;
    ep.err_handler.arg = &endpoint_args_[r];
    ucs_status_t st = ucp_ep_create(worker_, &ep, &endpoints_[r]);
    if (st != UCS_OK) {
      *err = ucs_message(("UCX endpoint to rank " + std::to_string(r) + " could not be created").c_str(), st);
      return false;
    }
  }
  return true;
}

bool UcxTransport::peer_failed(int rank) const {
  if (!failed_ || rank < 0 || rank >= options_.size) return false;
  return failed_[rank].load(std::memory_order_acquire);
}

void UcxTransport::on_endpoint_error(int rank, ucs_status_t status) {
  // Runs inside progress, with lock_ held. UCX fails the sends on that endpoint itself;
  // receives are worker-wide, so the protocol decides which of them the failure dooms.
  if (failed_[rank].exchange(true)) return;
  sc_fail_sends(rank, Result::PeerFailed, "the peer rank has failed");
  if (failure_fn_) failure_fn_(failure_ctx_, rank, ucs_status_string(status));
}

void UcxTransport::disconnect() {
  if (disconnected_ || !worker_) return;
  disconnected_ = true;
  // Flush mode: operations already handed to UCX reach the peer before the endpoint goes.
  // Peers do the same at the same time; each keeps progressing until all closes finish, and
  // the runtime fences through the key-value service before anyone destroys its worker.
  std::vector<void*> pending;
  {
    LockGuard g(lock_);
    for (size_t r = 0; r < endpoints_.size(); r++) {
      if (!endpoints_[r]) continue;
      ucp_request_param_t p;
      std::memset(&p, 0, sizeof(p));
      if (failed_[r].load()) {
        p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
        p.flags = UCP_EP_CLOSE_FLAG_FORCE;
      }
      ucs_status_ptr_t req = ucp_ep_close_nbx(endpoints_[r], &p);
      if (req != nullptr && !UCS_PTR_IS_ERR(req)) pending.push_back(req);
      endpoints_[r] = nullptr;
    }
    // No acknowledgement can come any more.
    sc_fail_sends(-1, Result::Canceled, "the transport was shut down before the receiver took the message");
  }
  // Bounded: a peer that vanished mid-close must not hang finalize forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
    LockGuard g(lock_);
    progress_worker();
    for (size_t i = 0; i < pending.size();) {
      if (ucp_request_check_status(pending[i]) != UCS_INPROGRESS) {
        ucp_request_free(pending[i]);
        pending[i] = pending.back();
        pending.pop_back();
      } else {
        i++;
      }
    }
  }
  for (void* req : pending) {
    LockGuard g(lock_);
    ucp_request_cancel(worker_, req);
    ucp_request_free(req);
  }
}

void UcxTransport::stop_progress() {
  stop_.store(true);
  wake_progress_thread();
  if (thread_.joinable()) thread_.join();
}

void UcxTransport::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  disconnect();
  stop_progress();
  sc_maps_.clear();
  if (worker_) ucp_worker_destroy(worker_);
  worker_ = nullptr;
  if (context_) ucp_cleanup(context_);
  context_ = nullptr;
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  epoll_fd_ = wake_fd_ = -1;
}

Result map_status(ucs_status_t status) {
  switch (status) {
    case UCS_OK:
      return Result::Ok;
    case UCS_ERR_MESSAGE_TRUNCATED:
      return Result::Truncated;
    case UCS_ERR_CANCELED:
      return Result::Canceled;
    case UCS_ERR_CONNECTION_RESET:
    case UCS_ERR_ENDPOINT_TIMEOUT:
    case UCS_ERR_UNREACHABLE:
    case UCS_ERR_REJECTED:
    case UCS_ERR_NOT_CONNECTED:
    case UCS_ERR_IO_ERROR:
      return Result::PeerFailed;
    default:
      return Result::Error;
  }
}

}  // namespace zc::transport::ucx
