// Looking the server's host up without holding anything up: an IP address
// needs no lookup, and a name is looked up (getaddrinfo) on a thread of its
// own. Asio's resolver cannot be interrupted and its one thread is joined
// when the client is destroyed, so a DNS server that never answers would
// stall every later lookup and the app's destroy call; a lookup given up here
// (the deadline passed, the client went away) finishes alone and is dropped.
//
// Thread-safety: a coroutine on the client's io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <vector>

#include "deadline.h"

namespace natter::client {

// The addresses of host:port; fails through `deadline` ("resolve <host>: ...").
boost::asio::awaitable<std::vector<boost::asio::ip::tcp::endpoint>> LookUp(const std::string& host,
                                                                           const std::string& port, Deadline& deadline);

}  // namespace natter::client
