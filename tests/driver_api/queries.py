"""The driver app's GraphQL documents, as the app sends them."""

CURRENT_TRIP = """
query CurrentTrip {
  currentTrip {
    id albaikIdentifier total latitude longitude
    delivery { createdAt status arrivedAt collectingAt }
    branch { id name latitude longitude }
    customer { firstName lastName telephone }
    items { id name quantity total }
  }
}
"""

UPDATE_ORDER = """
mutation UpdateOrder($albaikIdentifier: String!, $status: DeliveryUpdate!, $reason: String) {
  updateOrder(albaikIdentifier: $albaikIdentifier, status: $status, reason: $reason) {
    order { albaikIdentifier delivery { status arrivedAt collectingAt } }
    errors { field code message }
  }
}
"""

UPDATE_DRIVER_STATUS = """
mutation UpdateDriverStatus($status: DriverStatus!) {
  updateDriverStatus(status: $status) { status errors { field code message } }
}
"""

UPDATE_DRIVER_PROFILE = """
mutation UpdateDriverProfile($latitude: Float!, $longitude: Float!) {
  updateDriverProfile(latitude: $latitude, longitude: $longitude) { ok errors { field code message } }
}
"""
