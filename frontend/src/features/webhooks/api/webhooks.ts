import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api } from "@/shared/api/client";
import { unwrap } from "@/shared/api/problem";
import type { components } from "@/shared/api/schema";

export type EndpointRead = components["schemas"]["EndpointRead"];
export type EndpointCreate = components["schemas"]["PersonEndpointCreate"];
export type EndpointUpdate = components["schemas"]["PersonEndpointUpdate"];
export type EndpointWithSecret = components["schemas"]["EndpointWithSecret"];
export type DeliveryRead = components["schemas"]["DeliveryRead"];
export type EventType = components["schemas"]["EventType"];
/** What a person's own endpoints can receive: not account.deleted, since they are erased with the person's data. */
export type PersonEventType = components["schemas"]["PersonEventType"];

export const EVENT_TYPES: { value: PersonEventType; label: string }[] = [
  { value: "consent.changed", label: "A consent answer is recorded (consent.changed)" },
  { value: "data_request.completed", label: "A data request is completed (data_request.completed)" },
  { value: "account.closed", label: "The account is closed (account.closed)" },
];

/** The endpoint's event types that a person can receive (older endpoints may name others). */
export function receivableEvents(eventTypes: EventType[]): PersonEventType[] {
  return EVENT_TYPES.map((offered) => offered.value).filter((value) => eventTypes.includes(value));
}

const DELIVERY_PAGE = 20;
export const endpointsKey = ["me", "webhook-endpoints"] as const;
const deliveriesKey = (endpointId: string) => [...endpointsKey, endpointId, "deliveries"] as const;
const path = (endpointId: string) => ({ params: { path: { endpoint_id: endpointId } } });

export function useEndpoints() {
  return useQuery({
    queryKey: endpointsKey,
    queryFn: async () => unwrap(await api.GET("/api/v1/me/webhook-endpoints")),
  });
}

export function useCreateEndpoint() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: EndpointCreate) => unwrap(await api.POST("/api/v1/me/webhook-endpoints", { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: endpointsKey }),
  });
}

export function useUpdateEndpoint(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: EndpointUpdate) =>
      unwrap(await api.PATCH("/api/v1/me/webhook-endpoints/{endpoint_id}", { ...path(endpointId), body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: endpointsKey }),
  });
}

export function useDeleteEndpoint(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => unwrap(await api.DELETE("/api/v1/me/webhook-endpoints/{endpoint_id}", path(endpointId))),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: endpointsKey }),
  });
}

export function useRotateSecret(endpointId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/me/webhook-endpoints/{endpoint_id}/rotate-secret", path(endpointId))),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: endpointsKey }),
  });
}

export function useDeliveries(endpointId: string) {
  return useInfiniteQuery({
    queryKey: deliveriesKey(endpointId),
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/me/webhook-endpoints/{endpoint_id}/deliveries", {
          params: { path: { endpoint_id: endpointId }, query: { limit: DELIVERY_PAGE, cursor: pageParam } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}
