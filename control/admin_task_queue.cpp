#include "control/admin_task_queue.h"

#include "control/read_budget.h"

namespace switchyard::control {

void AdminTaskQueue::enqueue(std::function<void()> fn) {
  pool_.enqueue([fn = std::move(fn)] {
    setReadBudget(kAdminReadBudget);
    fn();  // one connection, read, answered and closed
    setReadBudget(-1);
  });
}

}  // namespace switchyard::control
