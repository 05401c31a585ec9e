/*
 * delivery_window.cpp — the publisher's sent/settled bookkeeping (see the header).
 */
#include "core/delivery_window.h"

#include <algorithm>
#include <stdexcept>

namespace eventstore {

void DeliveryWindow::reset(int64_t durable_id)
{
    slots_.clear();
    outstanding_ = 0;
    durable_id_ = durable_id;
    needs_rewind_ = false;
}

void DeliveryWindow::sent(int64_t id)
{
    if (id <= last_sent_id())
        throw std::logic_error("delivery window: message ids must increase");
    slots_.push_back(Slot{id, State::Outstanding, {}, {}});
    ++outstanding_;
}

DeliveryWindow::Slot *DeliveryWindow::find(int64_t id)
{
    /* Ids increase along the deque: binary search. */
    auto it = std::lower_bound(slots_.begin(), slots_.end(), id,
                               [](const Slot &slot, int64_t wanted) { return slot.id < wanted; });
    if (it == slots_.end() || it->id != id)
        return nullptr;
    return &*it;
}

void DeliveryWindow::settle(Slot *slot, State state)
{
    if (slot == nullptr || slot->state != State::Outstanding)
        return; /* unknown or already settled: a stale report */
    slot->state = state;
    --outstanding_;
}

void DeliveryWindow::acknowledged(int64_t id)
{
    settle(find(id), State::Acknowledged);
}

void DeliveryWindow::refused(int64_t id, const std::string &error_code, const std::string &error)
{
    Slot *slot = find(id);
    if (slot != nullptr && slot->state == State::Outstanding) {
        slot->error_code = error_code;
        slot->error = error;
    }
    settle(slot, State::Refused);
}

void DeliveryWindow::failed_retriably(int64_t id)
{
    Slot *slot = find(id);
    if (slot != nullptr && slot->state == State::Outstanding)
        needs_rewind_ = true;
    settle(slot, State::Failed);
}

SettledPrefix DeliveryWindow::settled_prefix() const
{
    SettledPrefix prefix;
    for (const Slot &slot : slots_) {
        if (slot.state == State::Acknowledged)
            prefix.acknowledged_ids.push_back(slot.id);
        else if (slot.state == State::Refused)
            prefix.dead_letters.push_back(DeadLetter{slot.id, slot.error_code, slot.error});
        else
            break;
        ++prefix.count;
        prefix.last_id = slot.id;
    }
    return prefix;
}

void DeliveryWindow::remove_prefix(const SettledPrefix &prefix)
{
    if (prefix.count == 0)
        return;
    if (prefix.count > slots_.size() || slots_[prefix.count - 1].id != prefix.last_id)
        throw std::logic_error("delivery window: prefix does not match the window");
    slots_.erase(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(prefix.count));
    durable_id_ = prefix.last_id;
}

bool DeliveryWindow::rewind_if_settled()
{
    if (!needs_rewind_ || outstanding_ > 0)
        return false;
    reset(durable_id_);
    return true;
}

}  // namespace eventstore
