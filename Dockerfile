# Watchkeeper image: build stage with the -dev packages, slim runtime stage with the shared libraries.
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config ca-certificates nodejs npm \
      libcaf-dev libwebsockets-dev rapidjson-dev libpqxx-dev libpq-dev libspdlog-dev libfmt-dev \
      libcurl4-openssl-dev libyaml-cpp-dev libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DWK_BUILD_TESTS=OFF -DWK_BUILD_BENCH=OFF \
 && cmake --build /build \
 && cmake --install /build --prefix /opt/watchkeeper

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates curl libcaf-core0.17 libcaf-io0.17 libwebsockets17 libpqxx-6.4 \
      libspdlog1.10 libfmt9 libcurl4 libyaml-cpp0.7 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/watchkeeper --create-home watchkeeper
COPY --from=build /opt/watchkeeper /opt/watchkeeper
COPY config/ /etc/watchkeeper/
USER watchkeeper
EXPOSE 3006
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:3006/-/healthy || exit 1
ENTRYPOINT ["/opt/watchkeeper/bin/watchkeeper"]
CMD ["serve", "--config", "/etc/watchkeeper/watchkeeper.yaml"]
