// The native registry of communicators: id -> members. Written by the JavaScript thread
// (split/dup/free), read when a collective or point-to-point operation is posted; schedules
// hold a reference, so freeing a communicator never pulls members from under one.
#include <mutex>
#include <unordered_map>

#include "protocol/collectives/collective.h"
#include "protocol/engine.h"
#include "protocol/tag.h"

namespace zc::protocol::coll {

namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<uint32_t, std::shared_ptr<CommInfo>> comms;
};

Registry& registry(Engine* e) {
  static std::mutex m;
  static std::unordered_map<Engine*, std::unique_ptr<Registry>> all;
  std::lock_guard<std::mutex> g(m);
  auto& slot = all[e];
  if (!slot) {
    slot.reset(new Registry());
    auto world = std::make_shared<CommInfo>();
    world->id = 0;
    world->rank = e->config().rank;
    world->size = e->config().size;
    world->world.resize(world->size);
    for (int i = 0; i < world->size; i++) world->world[i] = i;
    slot->comms[0] = world;
  }
  return *slot;
}

}  // namespace

std::shared_ptr<CommInfo> find_comm(Engine* e, uint32_t id) {
  Registry& r = registry(e);
  std::lock_guard<std::mutex> g(r.mutex);
  auto it = r.comms.find(id);
  return it == r.comms.end() ? nullptr : it->second;
}

bool add_comm(Engine* e, uint32_t id, int rank, std::vector<int> world, std::string* err) {
  if (id == 0 || id >= kMaxCommunicators) {
    *err = "communicator id out of range";
    return false;
  }
  if (rank < 0 || rank >= int(world.size())) {
    *err = "rank out of range for the communicator";
    return false;
  }
  for (int w : world) {
    if (w < 0 || w >= e->config().size) {
      *err = "a member is not a rank of the job";
      return false;
    }
  }
  Registry& r = registry(e);
  std::lock_guard<std::mutex> g(r.mutex);
  if (r.comms.count(id)) {
    *err = "communicator id already in use";
    return false;
  }
  auto c = std::make_shared<CommInfo>();
  c->id = id;
  c->rank = rank;
  c->size = int(world.size());
  c->world = std::move(world);
  r.comms[id] = c;
  return true;
}

void remove_comm(Engine* e, uint32_t id) {
  if (id == 0) return;
  Registry& r = registry(e);
  std::lock_guard<std::mutex> g(r.mutex);
  r.comms.erase(id);
}

}  // namespace zc::protocol::coll
