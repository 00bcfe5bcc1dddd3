#include "broker/broker.h"

namespace natter {
namespace {

class LocalBroker final : public Broker {
 public:
  explicit LocalBroker(EventSink& sink) : sink_(sink) {}
  void Publish(Event event) override { sink_.Deliver(event); }

 private:
  EventSink& sink_;
};

}  // namespace

std::unique_ptr<Broker> MakeLocalBroker(EventSink& sink) { return std::make_unique<LocalBroker>(sink); }

}  // namespace natter
