"""The project's vocabulary: site kinds, statuses, services, report categories, staff roles.

Plain constants, the codes stored in the database and used in the API (DESIGN.md §4-§5);
this is the bottom layer, so the geo core, the store and every feature can read them.
"""

from __future__ import annotations

KINDS = ("station", "mother_room")
STATUSES = ("active", "temporarily_closed", "removed")
SERVICES = (
    "drinking_water", "hot_water", "heating", "air_conditioning", "rest_area", "toilet",
    "phone_charging", "ebike_charging", "microwave", "first_aid_kit", "aed", "wifi",
    "repair_tools", "reading", "nursing_room", "fridge", "changing_table", "lockable_door",
)

# Chinese labels (DESIGN.md §5) and an icon per service, in vocabulary order.
SERVICE_LABELS = {
    "drinking_water": ("饮水", "💧"), "hot_water": ("热水", "♨️"), "heating": ("供暖", "🔥"),
    "air_conditioning": ("空调", "❄️"), "rest_area": ("休息", "🪑"), "toilet": ("卫生间", "🚻"),
    "phone_charging": ("手机充电", "🔌"), "ebike_charging": ("电动车充电", "🛵"),
    "microwave": ("微波炉", "🍲"), "first_aid_kit": ("急救药箱", "🩹"), "aed": ("AED", "❤️"),
    "wifi": ("无线网络", "📶"), "repair_tools": ("维修工具", "🔧"), "reading": ("阅读", "📖"),
    "nursing_room": ("哺乳间", "🤱"), "fridge": ("冰箱", "🧊"), "changing_table": ("尿布台", "🚼"),
    "lockable_door": ("可锁门", "🔒"),
}
assert tuple(SERVICE_LABELS) == SERVICES

REPORT_CATEGORIES = ("closed_when_open", "wrong_place", "missing_service", "other")
REPORT_STATUSES = ("new", "in_progress", "resolved")

ROLES = ("admin", "district")
