"""Problem reports ("信息有误？"): filing from the public page and the staff queue."""
