#include "store/store.h"

namespace natter {

int Store::PartitionOfKey(uint64_t key) const {
  int n = Partitions();
  if (n == 1) return 0;
  // splitmix64's finaliser: ids made in the same millisecond differ only in
  // their low bits, and must still spread evenly. Fixed forever: changing it
  // would move every conversation.
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ULL;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebULL;
  key ^= key >> 31;
  return static_cast<int>(key % static_cast<uint64_t>(n));
}

}  // namespace natter
