# The dashboard's web assets: npm installs web/'s locked dependencies into the build tree and
# web/build.mjs bundles web/src into ${CMAKE_BINARY_DIR}/web/dist (served under /dashboard).
# Both steps re-run only when their inputs change. Installed to share/watchkeeper/web.
#
# Defines: target wk_web_assets, variable WK_WEB_DIST_DIR.

find_program(WK_NODE node REQUIRED)
find_program(WK_NPM npm REQUIRED)

set(WK_WEB_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/../web")
cmake_path(NORMAL_PATH WK_WEB_SOURCE_DIR)
set(WK_WEB_BUILD_DIR "${CMAKE_BINARY_DIR}/web")
set(WK_WEB_DIST_DIR "${WK_WEB_BUILD_DIR}/dist")

file(GLOB_RECURSE wk_web_sources CONFIGURE_DEPENDS "${WK_WEB_SOURCE_DIR}/src/*")

# npm ci works on a copy of the manifest in the build tree, so node_modules never lands in the
# source tree and several build directories do not fight over one. npm writes
# node_modules/.package-lock.json on every successful install: the stamp of this step.
add_custom_command(
  OUTPUT "${WK_WEB_BUILD_DIR}/node_modules/.package-lock.json"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${WK_WEB_BUILD_DIR}"
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different
          "${WK_WEB_SOURCE_DIR}/package.json" "${WK_WEB_SOURCE_DIR}/package-lock.json"
          "${WK_WEB_BUILD_DIR}/"
  COMMAND sh -c "'${WK_NPM}' ci --offline --no-audit --no-fund --loglevel=silent || '${WK_NPM}' ci --no-audit --no-fund --loglevel=error"
  COMMAND "${CMAKE_COMMAND}" -E touch "${WK_WEB_BUILD_DIR}/node_modules/.package-lock.json"
  WORKING_DIRECTORY "${WK_WEB_BUILD_DIR}"
  DEPENDS "${WK_WEB_SOURCE_DIR}/package.json" "${WK_WEB_SOURCE_DIR}/package-lock.json"
  COMMENT "npm ci (dashboard dependencies)"
  VERBATIM)

add_custom_command(
  OUTPUT "${WK_WEB_DIST_DIR}/index.html"
  COMMAND "${WK_NODE}" "${WK_WEB_SOURCE_DIR}/build.mjs" "${WK_WEB_DIST_DIR}"
          --node-modules "${WK_WEB_BUILD_DIR}/node_modules"
  WORKING_DIRECTORY "${WK_WEB_BUILD_DIR}"
  DEPENDS "${WK_WEB_BUILD_DIR}/node_modules/.package-lock.json" "${WK_WEB_SOURCE_DIR}/build.mjs"
          ${wk_web_sources}
  COMMENT "Bundling the dashboard into ${WK_WEB_DIST_DIR}"
  VERBATIM)

add_custom_target(wk_web_assets ALL DEPENDS "${WK_WEB_DIST_DIR}/index.html")

install(DIRECTORY "${WK_WEB_DIST_DIR}/" DESTINATION share/watchkeeper/web)
