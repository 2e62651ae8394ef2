"""The app on PostgreSQL: the API, the courier's pages, a problem report, staff sign-in.

The SQLite suite's tests, run unchanged: the fixtures of tests/pg/conftest.py give them an
app whose ``DATABASE_URL`` points at the throwaway PostgreSQL server.
"""

from tests.web import test_api, test_app, test_pages, test_staff

REUSED = {
    test_api: ("frozen", "test_nearest_is_a_distance_ordered_feature_collection",
               "test_kind_and_services_filters", "test_open_now_with_a_frozen_clock",
               "test_temporarily_closed_only_on_request",
               "test_stations_bbox_district_kind_and_paging", "test_one_station_and_unknown_ids",
               "test_districts", "test_a_write_reaches_the_api_within_the_check_interval"),
    test_app: ("test_index_shows_the_map_legend_filters_and_synthetic_notice",
               "test_sites_payload_has_every_site",
               "test_healthz", "test_init_is_idempotent_and_keeps_existing_data",
               "test_init_without_demo_leaves_an_empty_store",
               "test_a_write_reaches_the_map_without_a_restart"),
    test_pages: ("report_app", "test_station_page_shows_everything_a_courier_needs",
                 "test_unknown_station_page_is_404", "test_a_report_is_stored_for_the_district",
                 "test_reports_are_rate_limited", "test_report_for_unknown_station_is_404"),
    test_staff: ("app", "test_login_and_the_session_cookie",
                 "test_wrong_password_and_unknown_user_look_the_same",
                 "test_repeated_failures_lock_the_account",
                 "test_district_staff_see_and_change_only_their_district",
                 "test_logout_revokes_the_session_on_the_server"),
}
for _module, _names in REUSED.items():
    globals().update({name: getattr(_module, name) for name in _names})
