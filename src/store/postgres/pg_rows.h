// Reading a query's rows into model values, for every PgTxn file.
#pragma once

#include <optional>
#include <vector>

#include "store/postgres/pg_conn.h"

namespace natter::pg {

// Every row of `r`, each made by `read`.
template <class T, class Reader>
std::vector<T> All(const Rows& r, Reader read) {
  std::vector<T> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) out.push_back(read(r.At(i)));
  return out;
}

// The first row of `r`, if any.
template <class T, class Reader>
std::optional<T> One(const Rows& r, Reader read) {
  if (r.empty()) return std::nullopt;
  return read(r.At(0));
}

// The first column of every row, as integers (ids, seqs).
inline std::vector<int64_t> Ints(const Rows& r) {
  return All<int64_t>(r, [](const Row& row) { return row.Int(0); });
}

}  // namespace natter::pg
