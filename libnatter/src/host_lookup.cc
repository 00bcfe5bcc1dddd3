#include "host_lookup.h"

#include <netdb.h>

#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <thread>

namespace natter::client {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Shared by the waiting coroutine and the lookup's thread.
struct Lookup {
  std::mutex mu;
  asio::any_io_executor ex;
  asio::steady_timer* wake = nullptr;  // the coroutine's; null once it stopped waiting
  bool finished = false;
  std::vector<tcp::endpoint> found;
  std::string error;
};

void Run(const std::shared_ptr<Lookup>& lookup, const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  std::vector<tcp::endpoint> found;
  for (addrinfo* a = rc == 0 ? list : nullptr; a; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    tcp::endpoint e;
    std::memcpy(e.data(), a->ai_addr, a->ai_addrlen);
    found.push_back(e);
  }
  if (list) freeaddrinfo(list);
  std::lock_guard lock(lookup->mu);
  if (!lookup->wake) return;  // given up: nobody waits
  lookup->found = std::move(found);
  lookup->error = rc == 0 ? "" : gai_strerror(rc);
  lookup->finished = true;
  asio::post(lookup->ex, [lookup] {
    std::lock_guard lock(lookup->mu);
    if (lookup->wake) lookup->wake->cancel();
  });
}

}  // namespace

asio::awaitable<std::vector<tcp::endpoint>> LookUp(const std::string& host, const std::string& port,
                                                   Deadline& deadline) {
  auto ex = co_await asio::this_coro::executor;
  auto port_number = static_cast<unsigned short>(std::stoul(port));
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) co_return std::vector<tcp::endpoint>{tcp::endpoint(address, port_number)};

  auto lookup = std::make_shared<Lookup>();
  lookup->ex = ex;
  asio::steady_timer wake(ex, asio::steady_timer::time_point::max());
  lookup->wake = &wake;
  // However this frame ends (an answer, the deadline, the client destroyed),
  // the thread no longer reaches `wake` after it.
  struct StopWaiting {
    std::shared_ptr<Lookup> lookup;
    ~StopWaiting() {
      std::lock_guard lock(lookup->mu);
      lookup->wake = nullptr;
    }
  } stop{lookup};
  std::thread(Run, lookup, host, port).detach();
  deadline.Wake(&wake);
  co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  deadline.Wake(nullptr);
  std::vector<tcp::endpoint> found;
  std::string error;
  bool finished = false;
  {
    std::lock_guard lock(lookup->mu);
    finished = lookup->finished;
    found = std::move(lookup->found);
    error = lookup->error;
  }
  if (!finished) deadline.Fail("resolve " + host, "given up");
  if (!error.empty()) deadline.Fail("resolve " + host, error);
  if (found.empty()) deadline.Fail("resolve " + host, "no address");
  co_return found;
}

}  // namespace natter::client
