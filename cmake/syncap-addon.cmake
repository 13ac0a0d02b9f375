# A syncap Node-API addon (node-addon-api, built by cmake-js): every native/*.cc of the calling
# package into <name>.node, with N-API 8, no C++ exceptions, warnings on, -O2; with
# -DSYNCAP_ASAN=ON (build-addon.mjs --asan) an AddressSanitizer build instead.
#   include(${CMAKE_CURRENT_SOURCE_DIR}/../../cmake/syncap-addon.cmake)
#   syncap_addon(syncap_jpeg)
function(syncap_addon name)
  set(CMAKE_CXX_STANDARD 17 PARENT_SCOPE)
  file(GLOB sources "${CMAKE_CURRENT_SOURCE_DIR}/native/*.cc")
  add_library(${name} SHARED ${sources} ${CMAKE_JS_SRC})
  set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".node" CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
  target_compile_definitions(${name} PRIVATE NAPI_VERSION=8 NODE_ADDON_API_DISABLE_DEPRECATED NAPI_DISABLE_CPP_EXCEPTIONS)
  target_compile_options(${name} PRIVATE -Wall -Wextra -O2)
  execute_process(COMMAND node -p "require('node-addon-api').include"
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    OUTPUT_VARIABLE addon_api_dir OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REPLACE "\"" "" addon_api_dir ${addon_api_dir})
  target_include_directories(${name} PRIVATE ${CMAKE_JS_INC} ${addon_api_dir})
  target_link_libraries(${name} ${CMAKE_JS_LIB})
  if(SYNCAP_ASAN)
    target_compile_options(${name} PRIVATE -fsanitize=address -fno-omit-frame-pointer -g -O1)
    target_link_options(${name} PRIVATE -fsanitize=address)
  endif()
endfunction()
